# Tests and the document fuzz target of the catalogue (document.cc, catalog.cc). Included from
# catalog/CMakeLists.txt after hanse_catalog is defined. Paths are relative to this file so that
# it can be included from any directory.

hanse_test(NAME catalog_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/document_test.cc ${CMAKE_CURRENT_LIST_DIR}/catalog_test.cc
  DEPS hanse::catalog
  LABEL catalog)

# The fuzz entry point is also built as a plain executable with the normal compiler, so that
# every corpus input is replayed as a regression test by ctest on every build.
add_executable(document_fuzz_replay ${CMAKE_CURRENT_LIST_DIR}/fuzz/document_fuzz.cc)
target_compile_options(document_fuzz_replay PRIVATE ${HANSE_WARNINGS})
target_link_libraries(document_fuzz_replay PRIVATE hanse::catalog hanse_fuzz_replay_main)
add_test(NAME document_fuzz_replay
  COMMAND document_fuzz_replay ${PROJECT_SOURCE_DIR}/tests/fuzz_corpus/document)
set_tests_properties(document_fuzz_replay PROPERTIES LABELS fuzz)

# libFuzzer needs clang. document.cc is compiled into the fuzzer itself (not taken from
# hanse_catalog, which also holds catalog.cc) so that it carries the coverage instrumentation the
# fuzzer steers by; the JOSE and key code comes from hanse_trust.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  add_executable(document_fuzz ${CMAKE_CURRENT_LIST_DIR}/fuzz/document_fuzz.cc
    ${CMAKE_CURRENT_LIST_DIR}/document.cc)
  target_include_directories(document_fuzz PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(document_fuzz PRIVATE ${HANSE_WARNINGS} -fsanitize=fuzzer,address,undefined
    -fno-omit-frame-pointer)
  target_link_options(document_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(document_fuzz PRIVATE hanse::trust nlohmann_json::nlohmann_json
    absl::status absl::statusor absl::strings absl::time absl::str_format)
endif()
