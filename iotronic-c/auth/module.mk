# iotronic-c/auth: Keystone and noauth authentication, oslo.policy rules.
$(call LIB,iotauth,$(wildcard iotronic-c/auth/*.c),$(LDLIBS_CURL))
