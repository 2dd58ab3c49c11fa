/* ops.h: the operation names of the wire protocol, shared by brokerd and libbroker.
 * proto/PROTOCOL.md documents each one. */
#ifndef BRK_OPS_H
#define BRK_OPS_H

#include <stdbool.h>

#define BRK_OP_PING "ping"
#define BRK_OP_HELLO "hello"
#define BRK_OP_INFO "info"
#define BRK_OP_LS "ls"
#define BRK_OP_STAT "stat"
#define BRK_OP_DEL "del"
#define BRK_OP_SESSIONS "sessions"
#define BRK_OP_BATCH "batch"
#define BRK_OP_ACK "ack"
#define BRK_OP_CANCEL "cancel"

#define BRK_OP_QUEUE_CREATE "queue.create"
#define BRK_OP_QUEUE_PUT "queue.put"
#define BRK_OP_QUEUE_PUT_NOWAIT "queue.put_nowait"
#define BRK_OP_QUEUE_GET "queue.get"
#define BRK_OP_QUEUE_GET_NOWAIT "queue.get_nowait"
#define BRK_OP_QUEUE_QSIZE "queue.qsize"
#define BRK_OP_QUEUE_EMPTY "queue.empty"
#define BRK_OP_QUEUE_FULL "queue.full"
#define BRK_OP_QUEUE_TASK_DONE "queue.task_done"
#define BRK_OP_QUEUE_JOIN "queue.join"

#define BRK_OP_LOCK_ACQUIRE "lock.acquire"
#define BRK_OP_LOCK_RELEASE "lock.release"
#define BRK_OP_LOCK_LOCKED "lock.locked"
#define BRK_OP_RLOCK_ACQUIRE "rlock.acquire"
#define BRK_OP_RLOCK_RELEASE "rlock.release"
#define BRK_OP_RLOCK_LOCKED "rlock.locked"

#define BRK_OP_SEM_CREATE "semaphore.create"
#define BRK_OP_SEM_ACQUIRE "semaphore.acquire"
#define BRK_OP_SEM_RELEASE "semaphore.release"
#define BRK_OP_SEM_VALUE "semaphore.value"

#define BRK_OP_EVENT_SET "event.set"
#define BRK_OP_EVENT_CLEAR "event.clear"
#define BRK_OP_EVENT_IS_SET "event.is_set"
#define BRK_OP_EVENT_WAIT "event.wait"

#define BRK_OP_BARRIER_CREATE "barrier.create"
#define BRK_OP_BARRIER_WAIT "barrier.wait"
#define BRK_OP_BARRIER_ABORT "barrier.abort"
#define BRK_OP_BARRIER_RESET "barrier.reset"

#define BRK_OP_COND_CREATE "condition.create"
#define BRK_OP_COND_ACQUIRE "condition.acquire"
#define BRK_OP_COND_RELEASE "condition.release"
#define BRK_OP_COND_WAIT "condition.wait"
#define BRK_OP_COND_NOTIFY "condition.notify"
#define BRK_OP_COND_NOTIFY_ALL "condition.notify_all"

#define BRK_OP_DICT_GET "dict.get"
#define BRK_OP_DICT_SET "dict.set"
#define BRK_OP_DICT_DELETE "dict.delete"
#define BRK_OP_DICT_CONTAINS "dict.contains"
#define BRK_OP_DICT_LEN "dict.len"
#define BRK_OP_DICT_KEYS "dict.keys"
#define BRK_OP_DICT_VALUES "dict.values"
#define BRK_OP_DICT_ITEMS "dict.items"
#define BRK_OP_DICT_POP "dict.pop"
#define BRK_OP_DICT_POPITEM "dict.popitem"
#define BRK_OP_DICT_SETDEFAULT "dict.setdefault"
#define BRK_OP_DICT_UPDATE "dict.update"
#define BRK_OP_DICT_CLEAR "dict.clear"
#define BRK_OP_DICT_INCR "dict.incr"
#define BRK_OP_DICT_CAS "dict.cas"

#define BRK_OP_LIST_CREATE "list.create"
#define BRK_OP_LIST_APPEND "list.append"
#define BRK_OP_LIST_EXTEND "list.extend"
#define BRK_OP_LIST_INSERT "list.insert"
#define BRK_OP_LIST_POP "list.pop"
#define BRK_OP_LIST_REMOVE "list.remove"
#define BRK_OP_LIST_INDEX "list.index"
#define BRK_OP_LIST_COUNT "list.count"
#define BRK_OP_LIST_REVERSE "list.reverse"
#define BRK_OP_LIST_SORT "list.sort"
#define BRK_OP_LIST_GET "list.get"
#define BRK_OP_LIST_SET "list.set"
#define BRK_OP_LIST_DELETE "list.delete"
#define BRK_OP_LIST_LEN "list.len"
#define BRK_OP_LIST_CONTAINS "list.contains"
#define BRK_OP_LIST_CLEAR "list.clear"
#define BRK_OP_LIST_READ "list.read"

#define BRK_OP_NS_GET "namespace.get"
#define BRK_OP_NS_SET "namespace.set"
#define BRK_OP_NS_DELETE "namespace.delete"
#define BRK_OP_NS_ATTRS "namespace.attrs"
#define BRK_OP_NS_READ "namespace.read"

#define BRK_OP_VALUE_CREATE "value.create"
#define BRK_OP_VALUE_GET "value.get"
#define BRK_OP_VALUE_SET "value.set"
#define BRK_OP_VALUE_ADD "value.add"
#define BRK_OP_VALUE_CAS "value.cas"
#define BRK_OP_VALUE_GETSET "value.getset"

#define BRK_OP_ARRAY_CREATE "array.create"
#define BRK_OP_ARRAY_GET "array.get"
#define BRK_OP_ARRAY_SET "array.set"
#define BRK_OP_ARRAY_ADD "array.add"
#define BRK_OP_ARRAY_LEN "array.len"
#define BRK_OP_ARRAY_READ "array.read"

#define BRK_OP_PIPE_CREATE "pipe.create"
#define BRK_OP_PIPE_OPEN "pipe.open"
#define BRK_OP_PIPE_SEND "pipe.send"
#define BRK_OP_PIPE_RECV "pipe.recv"
#define BRK_OP_PIPE_POLL "pipe.poll"
#define BRK_OP_PIPE_CLOSE "pipe.close"

#define BRK_OP_POOL_CREATE "pool.create"
#define BRK_OP_POOL_SUBMIT "pool.submit"
#define BRK_OP_POOL_RESULT "pool.result"
#define BRK_OP_POOL_WORK "pool.work"
#define BRK_OP_POOL_DONE "pool.done"
#define BRK_OP_POOL_CLOSE "pool.close"
#define BRK_OP_POOL_TERMINATE "pool.terminate"
#define BRK_OP_POOL_JOIN "pool.join"
#define BRK_OP_POOL_FORGET "pool.forget"

/* proto_op_blocks: whether op may wait (park) in the daemon. Such ops wait unless the
 * request says "block": false or "timeout": 0, and a batch may hold them only so. */
bool proto_op_blocks(const char *op);

#endif
