/*  curvecp_keyd_proto.h - the key service's messages over a secured
    DEALER-ROUTER session (rfc/curvecp.md, "Key service"). Each is a ØMQ
    message whose first frame names it:
      client -> keyd   SUBSCRIBE            a snapshot now, updates after it
                                            on this session
                       SNAPSHOT             a snapshot only
                       CHANGE <update>      an administrator's signed update
      keyd -> client   SNAPSHOT <set> [<pub-keys> <pub-data>]
                                            the signed set, and where the
                                            updates are published
                       UPDATE <update>      a change, to subscribers
                       HUGZ <seq>           heartbeat with the set's sequence
                                            number (decimal), to subscribers
                       OK <seq>             CHANGE applied
                       REFUSED <why> <seq>  CHANGE refused (why: a keyset
                                            result text), our sequence    */
#ifndef CURVECP_KEYD_PROTO_H_INCLUDED
#define CURVECP_KEYD_PROTO_H_INCLUDED

/* UPDATE and HUGZ are also published on the secured PUB-SUB
   (curvecp_zmq_pub, same long-term key) under this topic. */
#define KEYD_TOPIC      "keyd"

#define KEYD_SUBSCRIBE  "SUBSCRIBE"
#define KEYD_SNAPSHOT   "SNAPSHOT"
#define KEYD_CHANGE     "CHANGE"
#define KEYD_UPDATE     "UPDATE"
#define KEYD_HUGZ       "HUGZ"
#define KEYD_OK         "OK"
#define KEYD_REFUSED    "REFUSED"

/* keyd's heartbeat interval; a replica that hears nothing for
   lost_after_ms (default 3 heartbeats) calls the service lost. */
#define KEYD_HUGZ_MS        1000
#define KEYD_LOST_AFTER_MS  3000

#endif
