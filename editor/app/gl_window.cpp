// GLFW + OpenGL3 platform layer (gl_window.hpp).
#define GLFW_INCLUDE_NONE
#include "gl_window.hpp"

#include <GL/gl.h>
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_opengl3.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

namespace diffgraph::editor::ui {

namespace {

std::string g_last_glfw_error;

extern "C" void on_glfw_error(int, const char* description) { g_last_glfw_error = description ? description : "?"; }

// Textures through OpenGL 1.1 entry points, which libGL exports directly (no loader needed).
class GlTextureBackend final : public TextureBackend {
 public:
  ImTextureID create(int width, int height, const std::uint8_t* rgba) override {
    GLuint texture = 0;
    glGenTextures(1, &texture);
    glBindTexture(GL_TEXTURE_2D, texture);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
    // Magnified pictures show their pixels (a 64x64 result is inspected, not smoothed).
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, 0x812F /* GL_CLAMP_TO_EDGE */);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, 0x812F);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, width, height, 0, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
    return reinterpret_cast<ImTextureID>(static_cast<std::uintptr_t>(texture));
  }
  void destroy(ImTextureID texture) override {
    const auto name = static_cast<GLuint>(reinterpret_cast<std::uintptr_t>(texture));
    glDeleteTextures(1, &name);
  }
};

extern "C" void on_drop(GLFWwindow* window, int count, const char** paths) {
  auto* dropped = static_cast<std::vector<std::string>*>(glfwGetWindowUserPointer(window));
  for (int i = 0; i < count; ++i) dropped->emplace_back(paths[i]);
}

}  // namespace

GlWindow::GlWindow(int width, int height, const std::string& title) {
  glfwSetErrorCallback(on_glfw_error);
  if (!glfwInit())
    throw NoDisplay("cannot open a window: " + g_last_glfw_error +
                    " (no X11 or Wayland display; set DISPLAY, or run under xvfb-run)");
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_SCALE_TO_MONITOR, GLFW_TRUE);
  window_ = glfwCreateWindow(width, height, title.c_str(), nullptr, nullptr);
  if (!window_) {
    const std::string reason = g_last_glfw_error;
    glfwTerminate();
    throw NoDisplay("cannot open a window with OpenGL 3.3: " + reason);
  }
  glfwMakeContextCurrent(window_);
  glfwSwapInterval(1);
  // The drop callback has no user data of its own: the window's user pointer is the list.
  glfwSetWindowUserPointer(window_, &dropped_);
  glfwSetDropCallback(window_, on_drop);
  ImGui_ImplGlfw_InitForOpenGL(window_, true);  // installs callbacks (chaining the drop one is not needed)
  ImGui_ImplOpenGL3_Init("#version 330 core");
  textures_ = std::make_unique<GlTextureBackend>();
}

GlWindow::~GlWindow() {
  textures_.reset();
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  glfwDestroyWindow(window_);
  glfwTerminate();
}

bool GlWindow::close_requested() const { return glfwWindowShouldClose(window_); }
void GlWindow::cancel_close() { glfwSetWindowShouldClose(window_, GLFW_FALSE); }
void GlWindow::set_title(const std::string& title) { glfwSetWindowTitle(window_, title.c_str()); }

void GlWindow::begin_frame() {
  glfwPollEvents();
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplGlfw_NewFrame();
}

void GlWindow::end_frame(bool present_now) {
  int width = 0, height = 0;
  glfwGetFramebufferSize(window_, &width, &height);
  glViewport(0, 0, width, height);
  glClearColor(0.11f, 0.12f, 0.14f, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
  if (present_now) present();
}

void GlWindow::present() { glfwSwapBuffers(window_); }

Pixels GlWindow::read_pixels() const {
  Pixels pixels;
  glfwGetFramebufferSize(window_, &pixels.width, &pixels.height);
  pixels.rgba.resize(static_cast<std::size_t>(pixels.width) * pixels.height * 4);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadBuffer(GL_BACK);
  glReadPixels(0, 0, pixels.width, pixels.height, GL_RGBA, GL_UNSIGNED_BYTE, pixels.rgba.data());
  // OpenGL's rows run bottom to top; PNG's top to bottom.
  const std::size_t row = static_cast<std::size_t>(pixels.width) * 4;
  std::vector<unsigned char> swap(row);
  for (int y = 0; y < pixels.height / 2; ++y) {
    unsigned char* a = pixels.rgba.data() + y * row;
    unsigned char* b = pixels.rgba.data() + (pixels.height - 1 - y) * row;
    std::memcpy(swap.data(), a, row);
    std::memcpy(a, b, row);
    std::memcpy(b, swap.data(), row);
  }
  // The framebuffer's alpha is whatever blending left; a screenshot is opaque.
  for (std::size_t i = 3; i < pixels.rgba.size(); i += 4) pixels.rgba[i] = 255;
  return pixels;
}

float GlWindow::framebuffer_scale() const { return ImGui::GetIO().DisplayFramebufferScale.x; }

float GlWindow::content_scale() const {
  float x = 1, y = 1;
  glfwGetWindowContentScale(window_, &x, &y);
  return std::max(1.0f, std::max(x, y));
}

void GlWindow::reload_fonts() {
  ImGui_ImplOpenGL3_DestroyFontsTexture();
  ImGui_ImplOpenGL3_CreateFontsTexture();
}

std::vector<std::string> GlWindow::take_dropped_files() { return std::exchange(dropped_, {}); }

void GlWindow::wait_events(double seconds) { glfwWaitEventsTimeout(seconds); }

}  // namespace diffgraph::editor::ui
