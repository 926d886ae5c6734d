// Sized operator delete (C++14) with a size larger than the object's.
// Expected (debug): "does not match".
#include <cstddef>
#include <cstdio>
#include <new>

static void* volatile hidden;

int main() {
  void* p = ::operator new(24);
  hidden = p;
  volatile std::size_t wrong = 100000;
  ::operator delete(hidden, wrong);
  std::printf("survived: sized delete with a wrong size\n");
  return 0;
}
