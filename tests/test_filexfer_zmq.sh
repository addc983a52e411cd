#!/bin/bash
# The file tools over the ØMQ carrier (see filexfer_common.sh).
CARRIER=zmq
. "$(dirname "$0")/filexfer_common.sh"
