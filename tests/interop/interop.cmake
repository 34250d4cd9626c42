# Interoperability: a Hanse self-description (compact JWS, typ vc+jwt) verifies with an
# independent JOSE implementation, jwcrypto (Debian package python3-jwcrypto). make_vc signs
# documents with fresh P-256 and Ed25519 keys and prints JWS<TAB>JWK lines plus tampered tokens
# that verify_jws.py must reject. Included from tests/CMakeLists.txt.

# python3-jwcrypto installs into Debian's interpreter; prefer it over a python3 that happens to
# come first on PATH (pyenv, virtualenv) and would not see the package.
find_program(HANSE_INTEROP_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT HANSE_INTEROP_PYTHON)
  find_program(HANSE_INTEROP_PYTHON NAMES python3)
endif()

add_executable(interop_make_vc ${CMAKE_CURRENT_LIST_DIR}/make_vc.cc)
set_target_properties(interop_make_vc PROPERTIES OUTPUT_NAME make_vc)
target_compile_options(interop_make_vc PRIVATE ${HANSE_WARNINGS})
target_link_libraries(interop_make_vc PRIVATE hanse::catalog OpenSSL::Crypto)

if(HANSE_INTEROP_PYTHON)
  execute_process(COMMAND ${HANSE_INTEROP_PYTHON} -c "import jwcrypto"
    RESULT_VARIABLE hanse_jwcrypto_missing OUTPUT_QUIET ERROR_QUIET)
  if(hanse_jwcrypto_missing)
    message(WARNING "${HANSE_INTEROP_PYTHON} cannot import jwcrypto: interop_jwcrypto will fail "
      "until python3-jwcrypto is installed")
  endif()
  # pipefail: a crash of make_vc fails the test even though python3 reads what came before.
  add_test(NAME interop_jwcrypto
    COMMAND bash -c "set -o pipefail; \"$<TARGET_FILE:interop_make_vc>\" | \"${HANSE_INTEROP_PYTHON}\" \"${CMAKE_CURRENT_LIST_DIR}/verify_jws.py\"")
  set_tests_properties(interop_jwcrypto PROPERTIES LABELS interop)
else()
  message(WARNING "python3 not found: the interop_jwcrypto test is not registered")
endif()
