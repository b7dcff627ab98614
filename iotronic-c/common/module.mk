# iotronic-c/common: config, logging, errors, JSON, ids, time, crypto, worker pool.
$(call LIB,iotcommon,$(wildcard iotronic-c/common/*.c),$(LDLIBS_COMMON))
