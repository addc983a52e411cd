# curvecp-message interop: helper_msgrelay joins two message handlers by
# their fd 8/9 frames (test_message_*.sh); it is not a test itself.
add_executable(helper_msgrelay ${CMAKE_CURRENT_SOURCE_DIR}/helper_msgrelay.c)
target_include_directories(helper_msgrelay PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(helper_msgrelay PRIVATE curvecp_static)
foreach(t test_message_nacl test_message_ours test_message_badframes)
  if(TEST ${t})
    # exit 77: nacl-tools (curvecpmessage) not installed
    set_tests_properties(${t} PROPERTIES SKIP_RETURN_CODE 77)
  endif()
endforeach()
