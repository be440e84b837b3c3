/// @file value.hpp
/// Values flowing between nodes: immutable, reference-counted and type-erased.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace diffgraph {

/// A small RGBA picture (8 bits per channel, row-major, no padding) a value or a progress event
/// may offer for the editor to show.
struct PreviewImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgba;  ///< width * height * 4 bytes
};

/// Base class of every value. A value never changes after it is made: the executor caches and
/// shares outputs between nodes and runs, so a node that wants a modified version makes a new
/// value. Plugins derive their own (a tensor-backed LATENT, a loaded MODEL...).
class Value {
 public:
  virtual ~Value();
  /// The registered type name, e.g. "INT" or "LATENT".
  virtual std::string_view type() const = 0;
  /// Approximate memory held, for the cache's byte budget.
  virtual std::size_t byte_size() const = 0;
  /// A one-line human description ("42", "LATENT [1,4,64,64] float32").
  virtual std::string summary() const = 0;
  /// A small picture of the value, if it has one.
  virtual std::optional<PreviewImage> preview() const;
};

/// How values are passed around: shared ownership of an immutable value.
using ValuePtr = std::shared_ptr<const Value>;

/// Makes a value of type T (constructor arguments forwarded).
template <class T, class... Args>
ValuePtr make_value(Args&&... args) {
  return std::make_shared<const T>(std::forward<Args>(args)...);
}

/// The value as T, or nullptr when it is another kind of value.
template <class T>
std::shared_ptr<const T> value_cast(const ValuePtr& value) {
  return std::dynamic_pointer_cast<const T>(value);
}

/// A built-in scalar value. `Name` is the type name.
template <class T>
class ScalarValue : public Value {
 public:
  explicit ScalarValue(T value) : value_(std::move(value)) {}
  const T& get() const { return value_; }
  std::size_t byte_size() const override { return sizeof(*this) + extra_bytes(); }

 private:
  std::size_t extra_bytes() const {
    if constexpr (std::is_same_v<T, std::string>) return value_.capacity();
    return 0;
  }
  T value_;
};

/// INT: a 64-bit signed integer.
class IntValue final : public ScalarValue<std::int64_t> {
 public:
  using ScalarValue::ScalarValue;
  std::string_view type() const override;
  std::string summary() const override;
};

/// FLOAT: a double.
class FloatValue final : public ScalarValue<double> {
 public:
  using ScalarValue::ScalarValue;
  std::string_view type() const override;
  std::string summary() const override;
};

/// STRING: UTF-8 text.
class StringValue final : public ScalarValue<std::string> {
 public:
  using ScalarValue::ScalarValue;
  std::string_view type() const override;
  std::string summary() const override;
};

/// BOOLEAN.
class BoolValue final : public ScalarValue<bool> {
 public:
  using ScalarValue::ScalarValue;
  std::string_view type() const override;
  std::string summary() const override;
};

/// A literal input value as written in a workflow file: nothing, a boolean, an integer, a
/// floating-point number or a string.
using Literal = std::variant<std::monostate, bool, std::int64_t, double, std::string>;

/// The literal as text, as the CLI and error messages show it (strings quoted).
std::string literal_to_string(const Literal& literal);

}  // namespace diffgraph
