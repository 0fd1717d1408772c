// OpenSSL's libcrypto, for SigV4: SHA-256 and HMAC-SHA256 (headers from libssl-dev).
#include <openssl/sha.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>
