// tls_objects.cpp: C++ thread_local objects whose constructors and destructors
// allocate and free (std::string, std::vector, std::map, std::unique_ptr), in
// THREADS short-lived threads and in the main thread (destroyed at exit).
//
// thread_local destructors run at thread exit through __cxa_thread_atexit, whose
// own bookkeeping the C++ runtime allocates with malloc; each destructor here
// verifies its contents, frees them, and hands a freshly allocated string to a
// global list that the main thread verifies and frees after the thread is gone.
// A plain program: run with libshardalloc.so preloaded. TAP on stdout; the main
// thread's object prints its check at exit, so run it through expect.py.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

static const int THREADS = 400;

static std::atomic<int> bad{0};
static std::atomic<int> destroyed{0};
static std::mutex handed_lock;
static std::vector<std::string>* handed;  // never destroyed: outlives every thread

static std::string content(unsigned id, unsigned i) {
  return "thread " + std::to_string(id) + " item " + std::to_string(i) + std::string(i % 300, 'x');
}

struct PerThread {
  unsigned id = 0;
  bool armed = false;
  std::vector<std::string> strings;
  std::map<unsigned, std::vector<char>> buffers;
  std::unique_ptr<char[]> big;

  void fill(unsigned thread_id) {
    id = thread_id;
    armed = true;
    for (unsigned i = 0; i < 200; i++) strings.push_back(content(id, i));
    for (unsigned i = 0; i < 20; i++) buffers[i] = std::vector<char>(100 + i * 997 % 40000, char(i));
    big.reset(new char[300000]);
    for (unsigned i = 0; i < 300000; i += 4096) big[i] = char(id);
  }

  ~PerThread() {
    if (!armed) return;
    for (unsigned i = 0; i < strings.size(); i++) {
      if (strings[i] != content(id, i)) bad++;
    }
    for (auto& [i, buffer] : buffers) {
      for (char c : buffer) {
        if (c != char(i)) {
          bad++;
          break;
        }
      }
    }
    for (unsigned i = 0; i < 300000; i += 4096) {
      if (big[i] != char(id)) bad++;
    }
    strings.clear();
    strings.shrink_to_fit();
    buffers.clear();
    big.reset();
    {
      std::lock_guard<std::mutex> guard(handed_lock);
      handed->push_back(content(id, 999));
    }
    destroyed++;
    if (id == 0xFFFF) {  // the main thread's object, destroyed at exit
      std::printf("%s - a thread_local object of the main thread is destroyed at exit intact\n",
                  bad == 0 ? "ok" : "not ok");
      std::fflush(stdout);
    }
  }
};

static thread_local PerThread mine;

int main() {
  handed = new std::vector<std::string>();
  std::printf("# C++ thread_local objects in %d threads\n", THREADS);
  mine.fill(0xFFFF);
  for (int round = 0; round < THREADS / 8; round++) {
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; i++) {
      unsigned id = unsigned(round * 8 + i);
      threads.emplace_back([id] { mine.fill(id); });
    }
    for (auto& t : threads) t.join();
  }
  int handed_bad = 0;
  {
    std::lock_guard<std::mutex> guard(handed_lock);
    std::vector<bool> seen(THREADS, false);
    for (const std::string& s : *handed) {
      unsigned id = unsigned(std::strtoul(s.c_str() + 7, nullptr, 10));
      if (id >= unsigned(THREADS) || s != content(id, 999) || seen[id]) handed_bad++;
      else seen[id] = true;
    }
    handed->clear();
  }
  std::printf("%s - thread_local destructors of %d threads verified and freed their "
              "contents and allocated (%d destroyed, %d bad)\n",
              bad == 0 && destroyed == THREADS ? "ok" : "not ok", THREADS, destroyed.load(),
              bad.load());
  std::printf("%s - strings allocated in thread_local destructors outlive their threads\n",
              handed_bad == 0 ? "ok" : "not ok");
  std::fflush(stdout);
  return bad == 0 && handed_bad == 0 && destroyed == THREADS ? 0 : 1;
}
