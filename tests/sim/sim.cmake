# The network simulator (tests/sim) is compiled into the programs that use it.
set(CURVECP_SIM_SOURCES ${CMAKE_CURRENT_LIST_DIR}/sim_net.c ${CMAKE_CURRENT_LIST_DIR}/sim_app.c
                         ${CMAKE_CURRENT_LIST_DIR}/sim_node.c)
foreach(t test_sim_property test_sim_handshake test_sim_reproducible test_stream test_stream_memory test_stream_nacl test_chicago bench-sim-goodput)
  if(TARGET ${t})
    target_sources(${t} PRIVATE ${CURVECP_SIM_SOURCES})
    target_include_directories(${t} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  endif()
endforeach()
