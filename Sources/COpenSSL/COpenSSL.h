// Debian's OpenSSL libcrypto (libssl-dev). ArenaSupport's SHA256 uses only its EVP digest API
// (EVP_MD_CTX_new, EVP_DigestInit_ex with EVP_sha256, EVP_DigestUpdate, EVP_DigestFinal_ex),
// which picks the CPU's SHA instructions or AVX2 rounds at run time.
#include <openssl/evp.h>
#include <openssl/err.h>
