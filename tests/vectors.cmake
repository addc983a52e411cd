# The vector generator: not a test itself, but test_vectors checks its output.
add_executable(gen_vectors ${CMAKE_CURRENT_SOURCE_DIR}/gen_vectors.c)
target_include_directories(gen_vectors PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(gen_vectors PRIVATE curvecp_static)
