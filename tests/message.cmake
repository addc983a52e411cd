# curvecp-message tests: helper_msgrelay joins two message handlers by
# their fd 8/9 frames and is the child program under them
# (test_message_interop.sh, test_message_badframes.sh); not a test itself.
add_executable(helper_msgrelay ${CMAKE_CURRENT_SOURCE_DIR}/helper_msgrelay.c)
target_include_directories(helper_msgrelay PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(helper_msgrelay PRIVATE curvecp_static)
