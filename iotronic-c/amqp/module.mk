# iotronic-c/amqp: RPC and messaging over AMQP (librabbitmq): libiotamqp.
$(call LIB,iotamqp,$(wildcard iotronic-c/amqp/*.c),$(LDLIBS_AMQP))
