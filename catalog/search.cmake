# Search index and query language. Included from catalog/CMakeLists.txt.

hanse_library(NAME catalog_search
  SRCS tokenizer.cc query.cc search_index.cc
  DEPS hanse::catalog_store absl::strings absl::time absl::str_format absl::synchronization)

hanse_test(NAME catalog_search_test
  SRCS tokenizer_test.cc query_test.cc search_index_test.cc
  DEPS hanse::catalog_search
  LABEL catalog)

# The query parser's fuzz target; the parser sources are compiled into the libFuzzer build.
hanse_fuzz(NAME query ENTRY fuzz/query_fuzz.cc DEPS hanse::catalog_search
  FUZZER_SRCS query.cc tokenizer.cc
  FUZZER_DEPS absl::status absl::statusor absl::strings absl::time absl::str_format)
