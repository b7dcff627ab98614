# iotronic-c/http: the HTTP/1.1 server of the REST services, and metrics.
$(call LIB,iothttp,$(wildcard iotronic-c/http/*.c),$(LDLIBS_LWS) -lev)
