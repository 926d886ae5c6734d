/* list.h: the allocator's one linked-list implementation (floor 1, header only).
 *
 * An intrusive doubly linked list: each item embeds a sa_list_link_t, the list
 * holds its first and last item. Links point at items, not at links, so that a
 * walk reads `item->link.next` with no pointer arithmetic; the operations take
 * the offset of the link inside the item (offsetof), which lets one item sit in
 * several lists (a segment: its free queue and the abandoned list). Page queues,
 * segment queues, the abandoned segments, the live huge blocks, the registered
 * remote batches and the live threads all use it. Nothing here allocates or
 * locks: the caller owns the list or holds its lock. */
#ifndef SA_LIST_H
#define SA_LIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct sa_list_link_s {
  void* next;
  void* prev;
} sa_list_link_t;

typedef struct sa_list_s {
  void* first;
  void* last;
} sa_list_t;

static inline sa_list_link_t* sa_list_link(void* item, size_t offset) {
  return (sa_list_link_t*)((uint8_t*)item + offset);
}

static inline void sa_list_push_front(sa_list_t* list, void* item, size_t offset) {
  sa_list_link_t* link = sa_list_link(item, offset);
  link->prev = NULL;
  link->next = list->first;
  if (list->first != NULL) sa_list_link(list->first, offset)->prev = item;
  else list->last = item;
  list->first = item;
}

static inline void sa_list_push_back(sa_list_t* list, void* item, size_t offset) {
  sa_list_link_t* link = sa_list_link(item, offset);
  link->next = NULL;
  link->prev = list->last;
  if (list->last != NULL) sa_list_link(list->last, offset)->next = item;
  else list->first = item;
  list->last = item;
}

/* Unlinks an item that is in the list. */
static inline void sa_list_remove(sa_list_t* list, void* item, size_t offset) {
  sa_list_link_t* link = sa_list_link(item, offset);
  if (link->prev != NULL) sa_list_link(link->prev, offset)->next = link->next;
  else list->first = link->next;
  if (link->next != NULL) sa_list_link(link->next, offset)->prev = link->prev;
  else list->last = link->prev;
  link->next = link->prev = NULL;
}

/* The typed forms: `field` is the item's sa_list_link_t member. */
#define SA_LIST_PUSH_FRONT(list, item, field) sa_list_push_front((list), (item), offsetof(__typeof__(*(item)), field))
#define SA_LIST_PUSH_BACK(list, item, field) sa_list_push_back((list), (item), offsetof(__typeof__(*(item)), field))
#define SA_LIST_REMOVE(list, item, field) sa_list_remove((list), (item), offsetof(__typeof__(*(item)), field))

#endif /* SA_LIST_H */
