# Paper Table 4 (k values): k_sap^- x k_cap^+ with k_sap^+ = k_cap^- = 20,
# on PASCAL VOC 2012.
#   python tools/ablate.py configs/ablation/table4_k_voc.py
_base_ = ['./table3_voc.py']
variants = {
    '_delete_': True,  # not Table 3's variants
    **{
        f'ksapneg{a}_kcappos{b}': {
            'model.loss_sap.k_neg': a,
            'model.loss_cap.k_pos': b,
        }
        for a in (5, 10, 15)
        for b in (5, 10, 15, 20)
    }
}
