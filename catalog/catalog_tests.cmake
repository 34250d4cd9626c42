# Tests and the document fuzz target of the catalogue (document.cc, catalog.cc). Included from
# catalog/CMakeLists.txt after hanse_catalog is defined. Paths are relative to this file so that
# it can be included from any directory.

hanse_test(NAME catalog_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/document_test.cc ${CMAKE_CURRENT_LIST_DIR}/catalog_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/dcat_test.cc
  DEPS hanse::catalog
  LABEL catalog)
target_compile_definitions(catalog_test PRIVATE HANSE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

# The self-description fuzz target; document.cc is compiled into the libFuzzer build (not taken
# from hanse_catalog, which also holds catalog.cc); the JOSE and key code comes from hanse_trust.
hanse_fuzz(NAME document ENTRY ${CMAKE_CURRENT_LIST_DIR}/fuzz/document_fuzz.cc DEPS hanse::catalog
  FUZZER_SRCS ${CMAKE_CURRENT_LIST_DIR}/document.cc
  FUZZER_DEPS hanse::trust nlohmann_json::nlohmann_json absl::status absl::statusor absl::strings
    absl::time absl::str_format)
