# Search index and query language. Included from catalog/CMakeLists.txt.

hanse_library(NAME catalog_search
  SRCS tokenizer.cc query.cc search_index.cc
  DEPS hanse::catalog_store absl::strings absl::time absl::str_format absl::synchronization)

hanse_test(NAME catalog_search_test
  SRCS tokenizer_test.cc query_test.cc search_index_test.cc
  DEPS hanse::catalog_search
  LABEL catalog)

# The fuzz entry point is also built as a plain executable with the normal compiler, so that
# every corpus input is replayed as a regression test by ctest on every build.
add_executable(query_fuzz_replay fuzz/query_fuzz.cc)
target_compile_options(query_fuzz_replay PRIVATE ${HANSE_WARNINGS})
target_link_libraries(query_fuzz_replay PRIVATE hanse::catalog_search hanse_fuzz_replay_main)
add_test(NAME query_fuzz_replay
  COMMAND query_fuzz_replay ${PROJECT_SOURCE_DIR}/tests/fuzz_corpus/query)
set_tests_properties(query_fuzz_replay PROPERTIES LABELS fuzz)

# libFuzzer needs clang. The parser sources are compiled into the fuzzer itself (not taken from
# hanse_catalog_search) so that they carry the coverage instrumentation the fuzzer steers by.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  add_executable(query_fuzz fuzz/query_fuzz.cc query.cc tokenizer.cc)
  target_include_directories(query_fuzz PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(query_fuzz PRIVATE ${HANSE_WARNINGS} -fsanitize=fuzzer,address,undefined
    -fno-omit-frame-pointer)
  target_link_options(query_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(query_fuzz PRIVATE absl::status absl::statusor absl::strings absl::time
    absl::str_format)
endif()
