# iotronic-c/conductor: the iotronic-conductor's RPC handlers and business logic.
$(call LIB,iotconductor,$(wildcard iotronic-c/conductor/*.c),)
