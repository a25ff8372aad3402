#pragma once
// Whether this test program runs under AddressSanitizer (scripts/sanitize.sh), which replaces
// malloc: the tests of glibc's heap settings do not apply there and report themselves skipped.

#if defined(__SANITIZE_ADDRESS__)
#define FDS_UNDER_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FDS_UNDER_ADDRESS_SANITIZER 1
#endif
#endif
#ifndef FDS_UNDER_ADDRESS_SANITIZER
#define FDS_UNDER_ADDRESS_SANITIZER 0
#endif
