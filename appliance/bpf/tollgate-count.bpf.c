// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * How many flows tg_flows holds, read in O(1): a bpf_map iterator (Linux >= 5.8) that, for the
 * map whose id is in tg_count_target, writes bpf_map_sum_elem_count() (a kfunc, Linux >= 6.6):
 * the sum of the per-CPU element counters every hash map keeps since 6.6, LRU hashes included
 * (incremented when a free node is taken for an insert, decremented when a node returns to the
 * free lists: a delete, a replaced value, an LRU eviction). The daemon reads it by creating an
 * iterator from the link (kernel.ts KernelFlowCounter): 8 bytes, little-endian s64.
 *
 * A separate object from tollgate.bpf.c: it is a tracing program, so it needs the kernel's BTF
 * (/sys/kernel/btf/vmlinux) for its attach point, the kfunc and the CO-RE relocation of
 * bpf_map.id. A kernel without BTF loses only this count (the daemon says so), not the data path.
 * The structs below name only the fields used; libbpf relocates them against the running
 * kernel's BTF (preserve_access_index), so no vmlinux.h is needed at build time.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct seq_file;

struct bpf_map {
    __u32 id;
} __attribute__((preserve_access_index));

struct bpf_iter_meta {
    struct seq_file *seq;
} __attribute__((preserve_access_index));

struct bpf_iter__bpf_map {
    struct bpf_iter_meta *meta;
    struct bpf_map *map;
} __attribute__((preserve_access_index));

extern __s64 bpf_map_sum_elem_count(const struct bpf_map *map) __ksym;

/* Key 0: the id of the map to count (the daemon's tg_flows). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} tg_count_target SEC(".maps");

SEC("iter/bpf_map")
int tg_count(struct bpf_iter__bpf_map *ctx)
{
    struct bpf_map *map = ctx->map;
    __u32 zero = 0;
    __u32 *target = bpf_map_lookup_elem(&tg_count_target, &zero);
    if (!map || !target || map->id != *target) return 0;
    __s64 n = bpf_map_sum_elem_count(map);
    bpf_seq_write(ctx->meta->seq, &n, sizeof n);
    return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
