# iotronic-c/wamp: the WAMP codec, URIs, WAMP-CRA and tunnel proofs, the
# WampMessage envelope and the client session machine. Pure (no I/O): linked
# by the wagent, lightning-rod-c and lr-swarm; depends on common and cJSON.
$(call LIB,iotwamp,$(wildcard iotronic-c/wamp/*.c),-lcjson)
