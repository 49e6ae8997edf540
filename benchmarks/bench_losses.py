"""Forward+backward time of CAP+SAP: vectorised vs a per-patch loop.

    python benchmarks/bench_losses.py [--batch 32] [--patches 196] [--dim 256]

The loop formulation evaluates Eq. 1/2 one target patch at a time (batched
over images), as the reference implementation does; both run on the same
inputs and their values are compared.
"""
import time

import torch
import torch.nn.functional as F

from mmseg_cobra.cli import tool_parser
from mmseg_cobra.models.losses import CAPLoss, SAPLoss


def loop_info_nce(embed, pos_index, neg_index, tau):
    """Eq. 1/2 with a Python loop over target patches."""
    b, n, _ = embed.shape
    rows = torch.arange(b)
    total = embed.new_zeros(())
    for i in range(n):
        v_i = embed[:, i]  # [B, D]
        pos = embed[rows[:, None], pos_index[:, i]]  # [B, K+, D]
        neg = embed[rows[:, None], neg_index[:, i]]  # [B, K-, D]
        pos_sim = torch.exp((pos * v_i[:, None]).sum(-1) / tau)
        neg_sum = torch.exp((neg * v_i[:, None]).sum(-1) / tau).sum(-1)
        total = total + (
            -torch.log(pos_sim / (pos_sim + neg_sum[:, None]))).mean(-1).sum()
    return total / (b * n)


def timed(fn, repeats):
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = tool_parser(__doc__)
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--patches', type=int, default=196)
    parser.add_argument('--dim', type=int, default=256)
    parser.add_argument('--classes', type=int, default=21)
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    b, n, d = args.batch, args.patches, args.dim
    sap_raw = torch.randn(b, n, d, requires_grad=True)
    cap_raw = torch.randn(b, n, d, requires_grad=True)
    score = torch.rand(b, args.classes, n)
    pseudo = torch.randint(0, args.classes, (b, n))
    affinity = torch.rand(b, n, n)
    sap, cap = SAPLoss(loss_weight=1.0), CAPLoss(loss_weight=1.0)
    sap_idx = sap.select(score, pseudo)
    cap_idx = cap.select(affinity)

    def vectorised():
        for t in (sap_raw, cap_raw):
            t.grad = None
        loss = sap(F.normalize(sap_raw, dim=2), score, pseudo) + cap(
            F.normalize(cap_raw, dim=2), affinity)
        loss.backward()
        return loss

    def looped():
        for t in (sap_raw, cap_raw):
            t.grad = None
        loss = loop_info_nce(F.normalize(sap_raw, dim=2), *sap_idx, 0.1) + \
            loop_info_nce(F.normalize(cap_raw, dim=2), *cap_idx, 0.1)
        loss.backward()
        return loss

    v_val, l_val = vectorised().item(), looped().item()
    t_vec = timed(vectorised, args.repeats)
    t_loop = timed(looped, args.repeats)
    print(f'inputs: B={b} N={n} D={d}, threads={torch.get_num_threads()}')
    print(f'loss value   vectorised {v_val:.6f}   loop {l_val:.6f}   '
          f'|diff| {abs(v_val - l_val):.2e}')
    print(f'fwd+bwd time vectorised {t_vec * 1e3:8.2f} ms   '
          f'loop {t_loop * 1e3:8.2f} ms')
    print(f'speed-up: {t_loop / t_vec:.1f}x')


if __name__ == '__main__':
    main()
