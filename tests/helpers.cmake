# Helper programs that the test scripts run; they are not tests themselves.
# One block per helper (append yours below): tests/helper_NAME.c becomes
# <build>/tests/helper_NAME.

# helper_keytool: key directory load and safenonce counters (test_nacl_keys.sh)
add_executable(helper_keytool ${CMAKE_CURRENT_SOURCE_DIR}/helper_keytool.c)
target_include_directories(helper_keytool PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(helper_keytool PRIVATE curvecp_static)
if(TEST test_nacl_keys)
  # exit 77: nacl-tools not installed
  set_tests_properties(test_nacl_keys PROPERTIES SKIP_RETURN_CODE 77)
endif()

# helper_pubsub_pub: a secured publisher for the Python subscriber (test_pypeer_pubsub.py)
add_executable(helper_pubsub_pub ${CMAKE_CURRENT_SOURCE_DIR}/helper_pubsub_pub.c)
target_include_directories(helper_pubsub_pub PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(helper_pubsub_pub PRIVATE curvecp_static)

if(TEST test_readme_tour)
  # exit 77: a port of the README tour (9000-9400) in use, or nacl-tools,
  # curl or the examples missing
  set_tests_properties(test_readme_tour PROPERTIES SKIP_RETURN_CODE 77)
endif()
