// Debian's zlib (zlib1g-dev). The PNG encoder deflates its scanlines with compress2 and checks
// its chunks with crc32.
#include <zlib.h>
