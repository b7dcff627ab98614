# iotronic-c/conductor: the iotronic-conductor's RPC handlers and business logic.
#
# The pickling of plugin code is pure; everything else speaks AMQP and builds
# whenever libiotamqp is in the tree.
COND_PURE := iotronic-c/conductor/pickle.c
ifneq ($(wildcard iotronic-c/amqp/module.mk),)
$(call LIB,iotconductor,$(wildcard iotronic-c/conductor/*.c),$(LDLIBS_PQ) $(LDLIBS_AMQP))
$(call PROG,iotronic-conductor,iotronic-c/cmd/iotronic-conductor.c,iotconductor iotconf iotapi iotauth iotwagent iotamqp iotdb iotcommon,)
INSTALL_BINS += iotronic-conductor
else
$(call LIB,iotconductor,$(COND_PURE),)
endif
