/// @file types.hpp
/// Value types: the names that type node sockets ("INT", "LATENT", ...).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace diffgraph {

/// An sRGB colour with alpha, used by the editor for pins and links.
struct Color {
  std::uint8_t r = 160, g = 160, b = 160, a = 255;
  bool operator==(const Color&) const = default;
};

/// A registered value type. Types are identified by name only; a plugin that defines a
/// type registers it once so the editor knows how to draw it.
struct TypeInfo {
  std::string name;         ///< e.g. "LATENT"; upper case by convention
  Color color;              ///< pin and link colour in the editor
  std::string description;  ///< one line for tooltips and docs
};

/// Names of the built-in types.
namespace builtin_types {
inline constexpr std::string_view kInt = "INT";          ///< 64-bit signed integer
inline constexpr std::string_view kFloat = "FLOAT";      ///< double
inline constexpr std::string_view kString = "STRING";    ///< UTF-8 text
inline constexpr std::string_view kBoolean = "BOOLEAN";  ///< true/false
/// An input of this type accepts a link from an output of any type (e.g. a display node).
inline constexpr std::string_view kAny = "*";
}  // namespace builtin_types

/// True when an output of type `from` may be linked to an input of type `to`.
inline bool types_compatible(std::string_view from, std::string_view to) {
  return from == to || to == builtin_types::kAny || from == builtin_types::kAny;
}

}  // namespace diffgraph
