/*  curvecp_container.h - from an embedded member back to its owner.

    The core's containers are intrusive: a heap node or list link lives
    inside the owner's struct, so the container never allocates per item.
    CURVECP_CONTAINER_OF turns the member pointer the container hands back
    into the owner again.                                                  */
#ifndef CURVECP_CONTAINER_H_INCLUDED
#define CURVECP_CONTAINER_H_INCLUDED

#include <stddef.h>

#define CURVECP_CONTAINER_OF(ptr, type, member) \
    ((type *) (void *) ((char *) (ptr) - offsetof (type, member)))

#endif
