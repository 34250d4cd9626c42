# Small helpers so every library and test is declared the same way.

set(HANSE_WARNINGS -Wall -Wextra -Wpedantic -Wno-unused-parameter)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports false positives through Abseil's inline string helpers at -O2.
  list(APPEND HANSE_WARNINGS -Wno-maybe-uninitialized)
endif()
if(HANSE_WERROR)
  list(APPEND HANSE_WARNINGS -Werror)
endif()

# hanse_library(NAME <name> SRCS ... DEPS ...)
# Creates target hanse_<name> with alias hanse::<name>.
function(hanse_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(hanse_${ARG_NAME} STATIC ${ARG_SRCS})
  add_library(hanse::${ARG_NAME} ALIAS hanse_${ARG_NAME})
  target_include_directories(hanse_${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(hanse_${ARG_NAME} PRIVATE ${HANSE_WARNINGS})
  target_link_libraries(hanse_${ARG_NAME} PUBLIC ${ARG_DEPS})
endfunction()

# hanse_test(NAME <name> SRCS ... DEPS ... LABEL <module>)
function(hanse_test)
  cmake_parse_arguments(ARG "" "NAME;LABEL" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_compile_options(${ARG_NAME} PRIVATE ${HANSE_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} hanse::testing GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${ARG_NAME}
    PROPERTIES LABELS ${ARG_LABEL}
    DISCOVERY_TIMEOUT 60)
endfunction()

# hanse_fuzz(NAME <n> ENTRY <file> DEPS <libs> [FUZZER_SRCS <sources>] [FUZZER_DEPS <libs>])
# A fuzz entry point, built twice: <n>_fuzz_replay, with the normal compiler and DEPS, replays
# tests/fuzz_corpus/<n> as a ctest test (label fuzz) on every build; with clang, <n>_fuzz is the
# libFuzzer target (`make fuzz`). FUZZER_SRCS are compiled into the fuzzer itself, not taken from
# a library, so that they carry the coverage instrumentation the fuzzer steers by.
function(hanse_fuzz)
  cmake_parse_arguments(ARG "" "NAME;ENTRY" "DEPS;FUZZER_SRCS;FUZZER_DEPS" ${ARGN})
  add_executable(${ARG_NAME}_fuzz_replay ${ARG_ENTRY})
  target_compile_options(${ARG_NAME}_fuzz_replay PRIVATE ${HANSE_WARNINGS})
  target_link_libraries(${ARG_NAME}_fuzz_replay PRIVATE ${ARG_DEPS} hanse_fuzz_replay_main)
  add_test(NAME ${ARG_NAME}_fuzz_replay
    COMMAND ${ARG_NAME}_fuzz_replay ${PROJECT_SOURCE_DIR}/tests/fuzz_corpus/${ARG_NAME})
  set_tests_properties(${ARG_NAME}_fuzz_replay PROPERTIES LABELS fuzz)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    add_executable(${ARG_NAME}_fuzz ${ARG_ENTRY} ${ARG_FUZZER_SRCS})
    target_include_directories(${ARG_NAME}_fuzz PRIVATE ${PROJECT_SOURCE_DIR})
    target_compile_options(${ARG_NAME}_fuzz PRIVATE ${HANSE_WARNINGS}
      -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer)
    target_link_options(${ARG_NAME}_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${ARG_NAME}_fuzz PRIVATE ${ARG_FUZZER_DEPS})
  endif()
endfunction()
