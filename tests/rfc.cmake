# rfc/curvecp.md's test-vector appendix is this program's output;
# tests/test_rfc_vectors.sh checks that the document still matches it.
add_executable(gen_rfc_vectors ${CMAKE_CURRENT_SOURCE_DIR}/gen_rfc_vectors.c)
target_include_directories(gen_rfc_vectors PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(gen_rfc_vectors PRIVATE curvecp_static)
