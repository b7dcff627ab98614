# iotronic-c/conf: every IoTronic daemon's options, so that each recognises its
# siblings' keys in the shared iotronic.conf.
$(call LIB,iotconf,iotronic-c/conf/iotconf.c,)
