#include "crypto/openssl_ptr.hpp"

#include <openssl/err.h>

namespace u2u::crypto::detail {

std::string openssl_error_text() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text;
}

}  // namespace u2u::crypto::detail
