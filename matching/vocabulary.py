"""Domain words and stop words for Chinese-aware tokenisation.

The domain words keep jieba from splitting the priority industries' terms (质子交换膜 is one
term, not 质子 / 交换 / 膜); the stop words remove need-language and patent boilerplate that
says nothing about the technology.
"""

PRIORITY_INDUSTRIES = ("新一代信息技术", "生命健康", "新能源新材料", "高端装备制造", "绿色智能家居", "时尚纺织")

DOMAIN_WORDS = frozenset("""
5G 6G 射频前端 滤波器 光纤预制棒 智能网联车 智能座舱 集成电路 芯片封装 系统级封装 三维集成 智能传感器
图像处理芯片 机器视觉 缺陷检测 人工智能 云计算 物联网 边缘计算 区块链 毫米波雷达 功率半导体 信号完整性
体外诊断 化学发光 免疫层析 医学影像 磁共振 超声探头 平板探测器 高压发生器 X射线管 抗体药物 疫苗佐剂
干细胞 诊断试剂 生物芯片 微流控 多肽药物 医疗机器人 可降解
氢能 电解水制氢 储氢合金 储氢材料 加氢催化剂 脱氢催化剂 燃料电池 双极板 膜电极 质子交换膜 锂电池
锂离子电池 三元正极 磷酸铁锂 碳酸锂 硅碳负极 电池管理系统 固态电解质 固体氧化物燃料电池 石墨烯 导热膜
半导体硅 磁性材料 钕铁硼 软磁铁氧体 钙钛矿 储能
增材制造 3D打印 超精密加工 精密轴承 机器人轴承 谐波减速器 紧固件 密封件 碳纤维 传动轴 精密铸造
球墨铸铁 等温淬火 液压铸件 测量仪表 光纤激光器 扫描振镜 多轴联动 加工中心 数控雕刻机 印染装备
智能家具 升降桌 智能床垫 参数化设计 柔性化生产 定制化 拆单 排产 无醛胶黏剂 低VOC 竹木复合材料
服装辅料 钮扣 拉链 功能性纤维 抗菌 凉感 相变调温 智能纤维 可穿戴 植绒布 石墨烯面料 废旧纺织品
再生涤纶 印染废水 数码印花 无水染色 超临界二氧化碳
深度学习 机器学习 神经网络 视觉检测 外观缺陷
""".split())

STOP_WORDS = frozenset("""
我公司 本公司 公司 企业 我们 我司 我厂 厂里 寻求 寻找 希望 需要 需求 解决 急需 目前 现在 现有 问题 进行 实现
提供 想 想要 想做 想找 求 主要 一直 经常 总是 导致 造成 不够 不足 较低 偏低 偏高 不理想 效果 客户 用户 投诉
厂家 供应商 合作 合作方 单位 团队 高校 院所 预算 成本 价格 万元 以内 左右 不超过 以上 以下 要求 指标 目标
达到 做到 能够 可以 方案 技术方案 涉及 相关 方面 领域 一种 本发明 本实用新型 公开 所述 其特征 特征 在于
包括 包含 步骤 方法 装置 系统 用于 通过 以及 或者 并且 具有 采用 一个 一些 其中 所以 因此 由于 对于 根据
技术 实施例 权利要求 如下 上述 该 的 了 和 与 及 或 在 是 为 对 将 等 中 上 下 有 无 不 也 都 而 并 其 从
到 以 被 由 使 可 个 我 你 他 她 它 们 这 那 就 还 又 很 多 少 大 小 能 会 要 让 给 把 做 用 着 过 吗 呢 吧
啊 之 于 所 即 若 则 且 但 却 后 前 内 外 时 次 种 项 条 件 台 套 年 月 日 号 第
意向 有意向 申报 联合申报 重点 研发 开发 联合开发 计划 项目 正在 欢迎 揭榜 榜额 委托 第三方 部门 经费 一家
不该 要么 早已 没 没有 自己 还有 个别 仍 仍然 里 明显 差得远 认为 只有 几次 厉害 一套 不断 一来 为准 一半 接受
近期 不大 给出 前提 看 每月 略有 更 容易 好 不了 需 降到 提高到 超过 不能 不到 达不到 保持良好 新一代 大量 远
同时 达 出现 能力 非常 比较 特别 一般 尤其 已经 还是 或是 希望能 最好 尽量 能否 是否 如何 怎么 怎样
""".split())

# Synonyms and abbreviations: each group is one concept. A challenge term also matches its
# group's other spellings, in retrieval and in coverage.
SYNONYM_GROUPS = (
    ("锂电", "锂电池", "锂离子电池"), ("bms", "电池管理系统"), ("ivd", "体外诊断"),
    ("igbt", "绝缘栅双极型晶体管"), ("pcb", "印制电路板", "线路板", "电路板"), ("sip", "系统级封装"),
    ("csp", "芯片级封装"), ("mems", "微机电系统"), ("ai", "人工智能"), ("pemfc", "质子交换膜燃料电池"),
    ("sofc", "固体氧化物燃料电池"), ("mri", "磁共振", "核磁共振"), ("led", "发光二极管"),
    ("voc", "vocs", "挥发性有机物"), ("cnc", "数控"), ("agv", "自动导引车"), ("plc", "可编程逻辑控制器"),
    ("3d打印", "增材制造"), ("slm", "选区激光熔化"), ("pcr", "聚合酶链式反应"), ("poct", "即时检验"),
    ("adi", "等温淬火球墨铸铁"), ("iot", "物联网"), ("aoi", "自动光学检测"), ("ota", "远程升级"),
    ("mea", "膜电极"), ("pem", "质子交换膜"), ("cod", "化学需氧量"), ("pet", "涤纶", "聚酯"),
    ("锌", "zn"), ("钛", "ti"), ("铁", "fe"), ("锰", "mn"), ("铬", "cr"), ("镁", "mg"), ("铜", "cu"),
    ("硅", "si"), ("铝", "al"), ("镍", "ni"), ("锂", "li"),
    # Plastics: firms write the trade abbreviation, patents the chemical name ("pa" is left out:
    # it is also the unit Pa).
    ("pc", "聚碳酸酯"), ("pp", "聚丙烯"), ("pe", "聚乙烯"), ("abs", "丙烯腈-丁二烯-苯乙烯"), ("pvc", "聚氯乙烯"), ("pmma", "聚甲基丙烯酸甲酯", "亚克力"),
    ("pbt", "聚对苯二甲酸丁二醇酯"), ("pps", "聚苯硫醚"), ("peek", "聚醚醚酮"), ("ptfe", "聚四氟乙烯"),
    ("tpu", "热塑性聚氨酯"), ("pla", "聚乳酸"), ("eva", "乙烯-醋酸乙烯共聚物"),
)


def synonym_map() -> dict[str, tuple[str, ...]]:
    """Each spelling → the other spellings of its concept."""
    mapping: dict[str, tuple[str, ...]] = {}
    for group in SYNONYM_GROUPS:
        for term in group:
            mapping[term] = tuple(t for t in group if t != term)
    return mapping
