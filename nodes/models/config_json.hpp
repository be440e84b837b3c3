// config_json.hpp — reading model config fields from JSON with errors that name the field.
//
// Internal to the model runtime (the from_json of ClipTextConfig, VaeConfig and the
// checkpoint inspector). Each reader takes alternative names, since the same field is spelled
// differently by diffusers/Hugging Face config.json files, CompVis YAML-derived configs and
// OpenCLIP; the first name present wins and absent fields leave the value unchanged.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace diffgraph::models::config_json {

inline const nlohmann::json* find_field(const nlohmann::json& json, std::initializer_list<const char*> names,
                                        std::string& found_name) {
  for (const char* name : names) {
    const auto it = json.find(name);
    if (it != json.end() && !it->is_null()) {
      found_name = name;
      return &*it;
    }
  }
  return nullptr;
}

[[noreturn]] inline void bad_field(const char* what, const std::string& name, const std::string& expected,
                                   const nlohmann::json& value) {
  throw std::invalid_argument(std::string(what) + ": field '" + name + "' must be " + expected + ", got " +
                              value.dump());
}

/// An integer ≥ `minimum` (an integral-valued float such as 4.0 is accepted).
inline bool read_integer(const nlohmann::json& json, const char* what, std::initializer_list<const char*> names,
                         std::int64_t& out, std::int64_t minimum) {
  std::string name;
  const nlohmann::json* value = find_field(json, names, name);
  if (!value) return false;
  const std::string expected = "an integer ≥ " + std::to_string(minimum);
  std::int64_t number = 0;
  if (value->is_number_integer()) {
    number = value->get<std::int64_t>();
  } else if (value->is_number_float()) {
    const double d = value->get<double>();
    if (!(d >= -9e15 && d <= 9e15) || static_cast<double>(static_cast<std::int64_t>(d)) != d) {
      bad_field(what, name, expected, *value);
    }
    number = static_cast<std::int64_t>(d);
  } else {
    bad_field(what, name, expected, *value);
  }
  if (number < minimum) bad_field(what, name, expected, *value);
  out = number;
  return true;
}

inline bool read_positive(const nlohmann::json& json, const char* what, std::initializer_list<const char*> names,
                          std::int64_t& out) {
  return read_integer(json, what, names, out, 1);
}

inline bool read_non_negative(const nlohmann::json& json, const char* what, std::initializer_list<const char*> names,
                              std::int64_t& out) {
  return read_integer(json, what, names, out, 0);
}

inline bool read_number(const nlohmann::json& json, const char* what, std::initializer_list<const char*> names,
                        double& out) {
  std::string name;
  const nlohmann::json* value = find_field(json, names, name);
  if (!value) return false;
  if (!value->is_number()) bad_field(what, name, "a number", *value);
  out = value->get<double>();
  return true;
}

inline bool read_bool(const nlohmann::json& json, const char* what, std::initializer_list<const char*> names,
                      bool& out) {
  std::string name;
  const nlohmann::json* value = find_field(json, names, name);
  if (!value) return false;
  if (!value->is_boolean()) bad_field(what, name, "true or false", *value);
  out = value->get<bool>();
  return true;
}

inline std::string read_string(const nlohmann::json& json, const char* what, const char* name) {
  const auto it = json.find(name);
  if (it == json.end() || !it->is_string()) {
    bad_field(what, name, "a string", it == json.end() ? nlohmann::json() : *it);
  }
  return it->get<std::string>();
}

/// A list of integers ≥ `minimum`.
inline bool read_integer_list(const nlohmann::json& json, const char* what, std::initializer_list<const char*> names,
                              std::vector<std::int64_t>& out, std::int64_t minimum) {
  std::string name;
  const nlohmann::json* value = find_field(json, names, name);
  if (!value) return false;
  const std::string expected = "a list of integers ≥ " + std::to_string(minimum);
  if (!value->is_array()) bad_field(what, name, expected, *value);
  std::vector<std::int64_t> list;
  for (const auto& item : *value) {
    if (!item.is_number_integer() || item.get<std::int64_t>() < minimum) bad_field(what, name, expected, *value);
    list.push_back(item.get<std::int64_t>());
  }
  out = std::move(list);
  return true;
}

}  // namespace diffgraph::models::config_json
