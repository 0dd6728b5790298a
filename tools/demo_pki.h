/* A fixed demo PKI for `polytls demo` (made once with the openssl CLI by
   tools/make-demo-pki.sh; valid for 20 years). These keys protect nothing:
   they only let the demo run with no files and no network. Never use them
   for anything else. */
#ifndef POLYTLS_TOOLS_DEMO_PKI_H
#define POLYTLS_TOOLS_DEMO_PKI_H

#define DEMO_HOSTNAME "demo.polytls.test"

static const char demo_ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBmTCCAT+gAwIBAgIUd22AVmCk1ovkiySf5L7QDWKJc7IwCgYIKoZIzj0EAwIw\n"
    "GjEYMBYGA1UEAwwPcG9seXRscyBkZW1vIENBMB4XDTI2MTEyNzA5NDYyMloXDTQ2\n"
    "MTEyMjA5NDYyMlowGjEYMBYGA1UEAwwPcG9seXRscyBkZW1vIENBMFkwEwYHKoZI\n"
    "zj0CAQYIKoZIzj0DAQcDQgAEngDkFK6YAg2kiMUZ6BLprS4d/UXCdu/paoS/Ck/C\n"
    "wfPlC6XS9l8g984HBmVUU7D9Yd5N/tNjROZnkULmpNoy6aNjMGEwHQYDVR0OBBYE\n"
    "FGRaPPyBvcskmhJKwwF5rhzBClPLMB8GA1UdIwQYMBaAFGRaPPyBvcskmhJKwwF5\n"
    "rhzBClPLMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMAoGCCqGSM49\n"
    "BAMCA0gAMEUCIQDTXMaUVJ7hF5DQ9hUD+VOuygCr8lzQEpTdHK7VOiA/5QIgSo6f\n"
    "JYxNjdvwuF0NcjQt2I4jDCc/bc2CY7q48NUAtPI=\n"
    "-----END CERTIFICATE-----\n";

static const char demo_leaf_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBzjCCAXOgAwIBAgIUYUGbGDws/PPmAI/NX800ZO50VGAwCgYIKoZIzj0EAwIw\n"
    "GjEYMBYGA1UEAwwPcG9seXRscyBkZW1vIENBMB4XDTI2MTEyNzA5NDYyMloXDTQ2\n"
    "MTEyMTA5NDYyMlowHDEaMBgGA1UEAwwRZGVtby5wb2x5dGxzLnRlc3QwWTATBgcq\n"
    "hkjOPQIBBggqhkjOPQMBBwNCAAQrfT1j94NmlT732oLOpiVaiMf4amqu9wJRDzHd\n"
    "ZpUAZOMY+tsiwoD1Idb5HXyXmPuWh0xb7rTAU4VGfi0RfVC2o4GUMIGRMAwGA1Ud\n"
    "EwEB/wQCMAAwDgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMBMBwG\n"
    "A1UdEQQVMBOCEWRlbW8ucG9seXRscy50ZXN0MB0GA1UdDgQWBBRjviMfod2NBG/1\n"
    "iL7eMv9F780akjAfBgNVHSMEGDAWgBRkWjz8gb3LJJoSSsMBea4cwQpTyzAKBggq\n"
    "hkjOPQQDAgNJADBGAiEA4AW/qL3OVWL8VkZfIM08v8lJIYWS2LDL4iHJjNleUJcC\n"
    "IQDUzmHa9cfN3qgRMwv7y1N53LUz5D6ZL5hpYvnn7GRVnA==\n"
    "-----END CERTIFICATE-----\n";

static const char demo_leaf_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg4k/Rq+BI7mmLb44a\n"
    "5KQCBSd6hj/7A87w89ojDGGKXcehRANCAAQrfT1j94NmlT732oLOpiVaiMf4amqu\n"
    "9wJRDzHdZpUAZOMY+tsiwoD1Idb5HXyXmPuWh0xb7rTAU4VGfi0RfVC2\n"
    "-----END PRIVATE KEY-----\n";

#endif
