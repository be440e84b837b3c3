// test_tensor_io.cpp — safetensors ↔ torch: every dtype round trips bit for bit, options convert,
// and the F16 weights of the tiny_sd1 checkpoint load as float32.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <random>

#include <torch/torch.h>

#include "support/fixtures.hpp"
#include "models/tensor_io.hpp"

namespace fs = std::filesystem;
using namespace diffgraph::models;

namespace {

class TensorIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("diffgraph_tensor_io_" + std::to_string(::getpid()) + "_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(TensorIoTest, EveryDtypeRoundTrips) {
  const auto base = torch::arange(-6, 6, torch::kFloat64).reshape({3, 4}) * 1.5;
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto dtype : {torch::kFloat64, torch::kFloat32, torch::kFloat16, torch::kBFloat16, torch::kInt64,
                           torch::kInt32, torch::kInt16, torch::kInt8}) {
    tensors.emplace_back(std::string("t_") + c10::toString(dtype), base.to(dtype));
  }
  tensors.emplace_back("t_uint8", base.abs().to(torch::kUInt8));
  tensors.emplace_back("t_bool", base.gt(0));
  tensors.emplace_back("scalar", torch::tensor(7.25f).reshape({}));
  tensors.emplace_back("empty", torch::zeros({0, 3}));
  tensors.emplace_back("strided", base.to(torch::kFloat32).t());  // non-contiguous input
  const fs::path path = dir_ / "all.safetensors";
  save_tensors(path, tensors, {{"format", "pt"}});

  const auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  const auto loaded = load_all_tensors(file);
  ASSERT_EQ(loaded.size(), tensors.size());
  for (const auto& [name, original] : tensors) {
    SCOPED_TRACE(name);
    const auto& tensor = loaded.at(name);
    EXPECT_EQ(tensor.scalar_type(), original.scalar_type());
    EXPECT_EQ(tensor.sizes(), original.sizes());
    EXPECT_TRUE(tensor.is_contiguous());
    EXPECT_TRUE(torch::equal(tensor, original));
  }
}

TEST_F(TensorIoTest, OptionsConvertDtype) {
  const fs::path path = dir_ / "half.safetensors";
  const auto values = torch::tensor({0.5f, -1.25f, 3.f}).to(torch::kFloat16);
  save_tensors(path, {{"w", values}});
  const auto file = SafetensorsFile::open(path);
  const auto as_float = load_tensor(file, "w", torch::TensorOptions().dtype(torch::kFloat32));
  EXPECT_EQ(as_float.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(as_float, values.to(torch::kFloat32)));
  EXPECT_EQ(load_tensor(file, "w").scalar_type(), torch::kFloat16);
  try {
    load_tensor(file, "absent");
    ADD_FAILURE();
  } catch (const SafetensorsError& e) {
    EXPECT_NE(std::string(e.what()).find("absent"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos);
  }
}

TEST_F(TensorIoTest, UnsupportedDtypeIsNamed) {
  try {
    save_tensors(dir_ / "complex.safetensors", {{"z", torch::zeros({2}, torch::kComplexFloat)}});
    ADD_FAILURE();
  } catch (const SafetensorsError& e) {
    EXPECT_NE(std::string(e.what()).find("'z'"), std::string::npos);
  }
  EXPECT_EQ(to_torch_dtype(Dtype::BF16), torch::kBFloat16);
  EXPECT_EQ(from_torch_dtype(torch::kBool), Dtype::BOOL);
}

TEST(TensorIoFixture, LoadsTinySd1WeightsAsFloat32) {
  const fs::path path = diffgraph::testing::fixtures_dir() / "tiny_sd1" / "model.safetensors";
  if (!fs::exists(path)) GTEST_SKIP() << "fixture not found: " << path;
  const auto file = SafetensorsFile::open(path);
  const TensorInfo* f16 = nullptr;
  for (const auto& tensor : file.tensors()) {
    if (tensor.dtype == Dtype::F16 && tensor.numel() > 1) {
      f16 = &tensor;
      break;
    }
  }
  ASSERT_NE(f16, nullptr);
  const auto half = load_tensor(file, *f16);
  const auto single = load_tensor(file, *f16, torch::TensorOptions().dtype(torch::kFloat32));
  EXPECT_EQ(half.scalar_type(), torch::kFloat16);
  EXPECT_EQ(single.sizes(), half.sizes());
  EXPECT_TRUE(torch::equal(single, half.to(torch::kFloat32)));
  EXPECT_TRUE(torch::isfinite(single).all().item<bool>());
}

}  // namespace
