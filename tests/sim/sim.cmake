# The network simulator (tests/sim): a static library of its own, made
# once (the top level includes this file when tests or benchmarks are on,
# so bench-sim-goodput has it without the tests), linked into the tests
# that use it.
if(NOT TARGET curvecp_sim)
  add_library(curvecp_sim STATIC EXCLUDE_FROM_ALL ${CMAKE_CURRENT_LIST_DIR}/sim_net.c ${CMAKE_CURRENT_LIST_DIR}/sim_app.c
                                             ${CMAKE_CURRENT_LIST_DIR}/sim_node.c)
  target_include_directories(curvecp_sim PUBLIC ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(curvecp_sim PUBLIC curvecp_internal)
endif()
foreach(t test_sim_property test_sim_handshake test_sim_reproducible test_stream test_stream_memory test_stream_nacl test_chicago test_rfc_points)
  if(TARGET ${t})
    target_link_libraries(${t} PRIVATE curvecp_sim)
  endif()
endforeach()
