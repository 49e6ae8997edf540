# Paper Table 12 (loss weights): lambda1 (L_cam) and lambda2 (L_sap, L_cap)
# on PASCAL VOC 2012.
#   python tools/ablate.py configs/ablation/table12_lambda_voc.py
_base_ = ['./table3_voc.py']
variants = {
    '_delete_': True,  # not Table 3's variants
    **{
        f'l1_{l1}_l2_{l2}': {
            'model.loss_cam.loss_weight': l1,
            'model.loss_sap.loss_weight': l2,
            'model.loss_cap.loss_weight': l2,
        }
        for l1 in (0.05, 0.1, 0.2)
        for l2 in (0.05, 0.1, 0.2)
    }
}
