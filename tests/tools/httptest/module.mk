# tests/tools/httptest: the HTTP library's test daemon (integration tests, wrk).
$(call PROG,httptest,$(wildcard tests/tools/httptest/*.c),iothttp iotauth iotloop iotcommon,)
