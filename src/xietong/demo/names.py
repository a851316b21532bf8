"""Static tables for the demo city: regions, unit functions, offices, names and matter names.

Everything here is plain data; :mod:`xietong.demo.city` and :mod:`xietong.demo.catalogue`
turn it into records.  Unit name templates use ``{r}`` for the region's full name (丽水市,
青田县 …), ``{p}`` for the short prefix (市, 青田县, 景宁县 …) and ``{s}`` for the region's
short name (青田, 景宁 …).
"""

from __future__ import annotations

from typing import NamedTuple


class RegionRow(NamedTuple):
    """One region: code, full name, short name, short-name prefix for units, level, code kind."""

    code: str
    name: str
    short_name: str
    prefix: str
    level: str
    code_kind: str


CITY_CODE = "331100"
ZONE_CODE = "331103"

REGIONS: tuple[RegionRow, ...] = (
    RegionRow("331100", "丽水市", "市本级", "市", "city", "division"),
    RegionRow("331102", "莲都区", "莲都", "莲都区", "county", "division"),
    RegionRow("331121", "青田县", "青田", "青田县", "county", "division"),
    RegionRow("331122", "缙云县", "缙云", "缙云县", "county", "division"),
    RegionRow("331123", "遂昌县", "遂昌", "遂昌县", "county", "division"),
    RegionRow("331124", "松阳县", "松阳", "松阳县", "county", "division"),
    RegionRow("331125", "云和县", "云和", "云和县", "county", "division"),
    RegionRow("331126", "庆元县", "庆元", "庆元县", "county", "division"),
    RegionRow("331127", "景宁畲族自治县", "景宁", "景宁县", "county", "division"),
    RegionRow("331181", "龙泉市", "龙泉", "龙泉市", "county", "division"),
    # A functional zone without a GB/T 2260 code; Zhejiang's platforms use 331103 for it.
    RegionRow("331103", "丽水经济技术开发区", "开发区", "开发区", "county", "platform"),
)


class FunctionInfo(NamedTuple):
    """A unit function: matter-code abbreviation, label, name templates and business offices."""

    abbr: str
    label: str
    city_name: str
    city_short: str
    county_name: str | None
    county_short: str | None
    offices: tuple[str, ...]


F = FunctionInfo

#: Every city department, in display order.  ``county_*`` is None when the city template fits.
FUNCTIONS: dict[str, FunctionInfo] = {
    "government_office": F(
        "ZB", "政府办公室", "{r}人民政府办公室", "{p}政府办", None, None, ("秘书", "督查", "政务公开")
    ),
    "reform_office": F(
        "GG", "改革办", "中共{r}委全面深化改革委员会办公室", "{p}委改革办", None, None, ("综合协调", "改革督察")
    ),
    "staffing": F(
        "BB", "机构编制部门", "中共{r}委机构编制委员会办公室", "{p}委编办", None, None, ("行政机构编制", "事业机构编制")
    ),
    "development": F(
        "FG",
        "发展改革部门",
        "{r}发展和改革委员会",
        "{p}发改委",
        "{r}发展和改革局",
        "{p}发改局",
        ("发展规划", "投资", "价格"),
    ),
    "economy_it": F(
        "JX", "经信部门", "{r}经济和信息化局", "{p}经信局", None, None, ("产业发展", "技术改造", "数字经济")
    ),
    "education": F("JY", "教育部门", "{r}教育局", "{p}教育局", None, None, ("基础教育", "计划财务", "人事")),
    "science_tech": F("KJ", "科技部门", "{r}科学技术局", "{p}科技局", None, None, ("科技计划", "高新技术", "成果转化")),
    "public_security": F(
        "GA", "公安部门", "{r}公安局", "{p}公安局", None, None, ("治安管理", "人口管理", "科技信息化")
    ),
    "civil_affairs": F(
        "MZ", "民政部门", "{r}民政局", "{p}民政局", None, None, ("社会救助", "社会组织管理", "区划地名")
    ),
    "justice": F(
        "SF", "司法行政部门", "{r}司法局", "{p}司法局", None, None, ("合法性审查", "行政复议", "公共法律服务")
    ),
    "finance": F("CZ", "财政部门", "{r}财政局", "{p}财政局", None, None, ("预算", "国库", "政府采购监管")),
    "hr_social": F(
        "RS",
        "人力社保部门",
        "{r}人力资源和社会保障局",
        "{p}人力社保局",
        None,
        None,
        ("事业单位人事管理", "专业技术人员管理", "工资福利"),
    ),
    "natural_resources": F(
        "ZR",
        "自然资源部门",
        "{r}自然资源和规划局",
        "{p}资规局",
        None,
        None,
        ("国土空间规划", "自然资源利用", "耕地保护监督"),
    ),
    "ecology": F(
        "ST",
        "生态环境部门",
        "{r}生态环境局",
        "{p}生态环境局",
        "丽水市生态环境局{s}分局",
        "{s}生态环境分局",
        ("环境影响评价", "环境监测", "生态保护"),
    ),
    "housing": F(
        "ZJ",
        "住房城乡建设部门",
        "{r}住房和城乡建设局",
        "{p}住建局",
        None,
        None,
        ("建筑市场监管", "住房保障", "城市建设"),
    ),
    "transport": F(
        "JT", "交通运输部门", "{r}交通运输局", "{p}交通运输局", None, None, ("综合规划", "建设管理", "运输管理")
    ),
    "water": F("SL", "水利部门", "{r}水利局", "{p}水利局", None, None, ("水资源管理", "河湖管理", "水旱灾害防御")),
    "agriculture": F(
        "NY", "农业农村部门", "{r}农业农村局", "{p}农业农村局", None, None, ("计划财务", "种植业管理", "乡村发展")
    ),
    "commerce": F("SW", "商务部门", "{r}商务局", "{p}商务局", None, None, ("对外贸易", "投资促进", "市场运行")),
    "culture_tourism": F(
        "WL",
        "文化旅游部门",
        "{r}文化和广电旅游体育局",
        "{p}文广旅体局",
        None,
        None,
        ("文物保护", "旅游发展", "公共服务"),
    ),
    "health": F(
        "WJ",
        "卫生健康部门",
        "{r}卫生健康委员会",
        "{p}卫生健康委",
        "{r}卫生健康局",
        "{p}卫健局",
        ("医政医管", "疾病预防控制", "规划发展与信息化"),
    ),
    "veterans": F(
        "TY",
        "退役军人事务部门",
        "{r}退役军人事务局",
        "{p}退役军人事务局",
        None,
        None,
        ("移交安置", "拥军优抚", "就业创业"),
    ),
    "emergency": F(
        "YJ",
        "应急管理部门",
        "{r}应急管理局",
        "{p}应急管理局",
        None,
        None,
        ("应急指挥", "安全生产综合协调", "救灾和物资保障"),
    ),
    "audit": F("SJ", "审计部门", "{r}审计局", "{p}审计局", None, None, ("财政审计", "经济责任审计", "法规审理")),
    "market_regulation": F(
        "SC",
        "市场监管部门",
        "{r}市场监督管理局",
        "{p}市场监管局",
        None,
        None,
        ("登记注册", "食品安全协调", "信用监督管理"),
    ),
    "statistics": F("TJ", "统计部门", "{r}统计局", "{p}统计局", None, None, ("综合", "国民经济核算", "统计执法监督")),
    "medical_security": F(
        "YB", "医疗保障部门", "{r}医疗保障局", "{p}医保局", None, None, ("医药服务管理", "待遇保障", "基金监管")
    ),
    "forestry": F(
        "LY", "林业部门", "{r}林业局", "{p}林业局", None, None, ("森林资源管理", "林业改革发展", "自然保护地管理")
    ),
    "government_affairs": F(
        "JS",
        "机关事务部门",
        "{r}机关事务管理局",
        "{p}机关事务局",
        None,
        None,
        ("公务用车管理", "办公用房管理", "公共机构节能"),
    ),
    "archives": F("DA", "档案部门", "{r}档案馆", "{p}档案馆", None, None, ("档案接收征集", "档案利用", "档案信息化")),
    "service_center": F(
        "ZW", "政务服务部门", "{r}政务服务管理办公室", "{p}政务办", None, None, ("窗口管理", "政务服务改革", "效能监督")
    ),
    "state_assets": F(
        "GZ",
        "国资监管部门",
        "{r}人民政府国有资产监督管理委员会",
        "{p}国资委",
        None,
        None,
        ("产权管理", "企业改革", "考核分配"),
    ),
    "ethnic_religious": F("MJ", "民族宗教部门", "{r}民族宗教事务局", "{p}民宗局", None, None, ("民族事务", "宗教事务")),
    "big_data": F(
        "DS", "大数据部门", "{r}大数据发展管理局", "{p}大数据局", None, None, ("数据资源", "应用推广", "基础设施")
    ),
    "law_enforcement": F(
        "ZF", "综合执法部门", "{r}综合行政执法局", "{p}综合执法局", None, None, ("执法指导", "综合协调", "法制审核")
    ),
    "petition": F("XF", "信访部门", "{r}信访局", "{p}信访局", None, None, ("来访接待", "督查督办", "复查复核")),
}

#: Functions every county (not the zone) has.
COUNTY_CORE: tuple[str, ...] = (
    "government_office",
    "reform_office",
    "staffing",
    "development",
    "economy_it",
    "education",
    "public_security",
    "civil_affairs",
    "finance",
    "hr_social",
    "natural_resources",
    "ecology",
    "housing",
    "transport",
    "agriculture",
    "health",
    "market_regulation",
    "big_data",
    "audit",
)

#: Further departments of each county.
COUNTY_EXTRA: dict[str, tuple[str, ...]] = {
    "331102": ("justice", "water", "commerce", "culture_tourism", "emergency", "statistics"),
    "331121": ("justice", "water", "commerce", "culture_tourism", "emergency", "veterans"),
    "331122": ("justice", "water", "culture_tourism", "emergency", "medical_security"),
    "331123": ("justice", "forestry", "culture_tourism", "emergency"),
    "331124": ("forestry", "culture_tourism", "water", "archives"),
    "331125": ("forestry", "emergency"),
    "331126": ("forestry", "justice", "water"),
    "331127": ("forestry", "ethnic_religious", "culture_tourism"),
    "331181": ("justice", "forestry", "water", "commerce", "culture_tourism", "emergency"),
}

#: The development zone's bodies: function -> (full name, short name, business offices).
ZONE_UNITS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "government_office": ("丽水经济技术开发区管理委员会办公室", "开发区管委会办", ("秘书", "督查")),
    "finance": ("丽水经济技术开发区管委会财政局", "开发区财政局", ("预算", "国库")),
    "development": ("丽水经济技术开发区经济发展局", "开发区经发局", ("项目推进", "产业发展")),
    "commerce": ("丽水经济技术开发区投资促进局", "开发区投促局", ("招商", "外资外贸")),
    "housing": ("丽水经济技术开发区建设局", "开发区建设局", ("工程管理", "城市建设")),
    "hr_social": ("丽水经济技术开发区社会事务局", "开发区社会事务局", ("人力社保", "社会保障")),
    "natural_resources": ("丽水市自然资源和规划局经济技术开发区分局", "开发区资规分局", ("规划", "土地利用")),
    "ecology": ("丽水市生态环境局经济技术开发区分局", "开发区生态环境分局", ("环评", "执法")),
    "market_regulation": ("丽水市市场监督管理局经济技术开发区分局", "开发区市场监管分局", ("登记注册", "综合执法")),
    "emergency": ("丽水经济技术开发区应急管理局", "开发区应急管理局", ("安全生产", "应急指挥")),
    "public_security": ("丽水市公安局经济技术开发区分局", "开发区公安分局", ("治安", "人口管理")),
}

POSTS: tuple[tuple[str, str], ...] = (
    ("clerk", "经办人"),
    ("section_chief", "科室负责人"),
    ("leader_in_charge", "分管领导"),
    ("head", "主要负责人"),
)

#: Common surnames, most frequent (in 丽水) first; weights fall off with position.
SURNAMES = (
    "吴叶陈刘周李王徐潘毛季何林张杨朱郑金胡沈蓝雷钟梅应项鲍柳廖邱范汤程黄赵孙马郭罗梁宋谢"
    "许韩冯邓曹彭曾肖田董袁蒋蔡余杜苏魏吕丁任姚卢姜崔谭陆汪石贾夏方邹孟秦江薛严钱戴俞管施"
)
#: She (畲族) surnames, more common in 景宁.
SHE_SURNAMES = "蓝雷钟"
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华建文辉玲红飞鹏斌宇浩凯健俊帆琳晨欣婷雪晶"
    "倩颖佳慧露瑶怡蕾锋波宁亮峰毅鑫昊晓东海燕萍梅莉兰凤洁琴云莹丹虹青雯璐晴楠博涵睿哲然轩航"
    "宏志诚振林森远永春光荣福生祥国民金德新利清玉骏炜婧琪彬晖旭阳思雨嘉益瑞卫铭朝"
)
PHONE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "157",
    "158",
    "159",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)

#: Matter names by handling function ("、"-separated).  ``@a+b`` names the applicant functions;
#: without it any unit may apply.
MATTERS: dict[str, str] = {
    "government_office": "政府常务会议议题申报、以政府名义发文审核、政府领导批示件办理、重大行政决策事项报备、"
    "议事协调机构设立审核、政府文件会签办理、政务值班调度协调、督查事项办结销号审核、政务信息报送、"
    "政府专题会议纪要核稿",
    "reform_office": "改革试点项目申报审核、改革事项协同推进协调、“最多跑一次”改革事项备案、改革成果评估申请、"
    "数字化改革应用场景申报、改革任务调整审核、基层改革创新案例申报、改革督察整改销号审核",
    "staffing": "编制核定、机构设置调整审核、领导职数核定、内设机构调整审核、编制使用核准、"
    "事业单位法人登记、编外用工备案、人员编制实名制信息变更、机构更名审核、职责调整审核、"
    "事业单位分类认定、编制周转池使用审核",
    "development": "政府投资项目建议书审批、政府投资项目可行性研究报告审批、重大项目前期经费申请、节能审查、"
    "政府定价成本监审、重点建设项目计划调整审核、价格认定委托、发展规划衔接审核、投资项目代码赋码协调、"
    "以工代赈项目申报",
    "economy_it": "工业技改项目备案协调、企业技术中心认定推荐、工业用地“标准地”指标协调、专精特新企业认定推荐、"
    "工业企业用电保障协调、产业发展专项资金拨付、无线电频率使用协调、电力设施迁改协调、首台套产品认定推荐",
    "education": "教师编制周转使用审核@education、学校建设项目协调、教育经费专项拨付@education、"
    "义务教育入学保障协调、校外培训机构联合检查、教师交流轮岗备案@education、学生资助资金拨付@education、"
    "学校安全隐患整改协调、民办学校设立审核",
    "science_tech": "科技项目立项审核、科技计划项目经费拨付、高新技术企业认定推荐、科技成果登记、"
    "科技特派员派遣备案、科研仪器设备共享使用申请、科技创新平台认定推荐、涉密科研项目审查",
    "public_security": "户籍信息核查、人口信息数据共享申请、视频监控资源调用申请、大型活动安全许可协调、"
    "公务人员出入境证件备案、涉案财物移交@justice+market_regulation+law_enforcement、交通管制协调、"
    "警力支援申请、违法犯罪记录查询、内部安全保卫检查",
    "civil_affairs": "社会组织登记协调、地名命名更名审核、行政区划调整论证、低保对象信息核查、"
    "养老服务设施建设补助拨付、社会救助资金拨付、殡葬设施规划协调、婚姻登记信息核查、困难群众帮扶协调、"
    "慈善募捐备案",
    "justice": "规范性文件合法性审核、重大行政决策合法性审查、行政执法人员资格审核、法律顾问服务申请、"
    "行政复议案件答复协调、公证协助办理、法治政府建设考评材料报送、法律援助指派协调、行政执法证件申领、"
    "合同合法性审查",
    "finance": "年度部门预算调整审批、专项资金拨付、政府采购计划备案、政府采购方式变更审批、预算追加申请、"
    "行政事业单位国有资产处置审批、财政票据领购、国库集中支付用款计划调整、结转结余资金使用审批、"
    "政府债券资金拨付、公务卡开卡审批、会计人员信息变更备案",
    "hr_social": "人员调入调出审核、职称评审委托、公开招聘计划审核、事业单位岗位设置审核、工资标准核定、"
    "机关事业单位养老保险参保登记、人才引进审核、人事代理备案、专业技术人员继续教育学时认定、退休审批、"
    "临时聘用人员备案、表彰奖励审批",
    "natural_resources": "建设用地预审、用地规划条件核定、不动产权属信息查询、国土空间规划符合性审查、"
    "土地征收协调、测绘成果使用申请、地质灾害隐患点核查、临时用地审批、规划方案联合审查、储备土地移交",
    "ecology": "环境影响评价文件审批协调、排污许可信息核查、生态环境监测数据共享申请、环保督察问题整改销号审核、"
    "突发环境事件应急联动、建设项目环保“三同时”核查、危险废物转移协调、生态保护红线核查",
    "housing": "施工图审查协调、建设工程消防设计审查、公共租赁住房调配、城市基础设施配套费减免审核、"
    "房屋安全鉴定委托、物业专项维修资金使用审核、人防工程易地建设审核、建筑市场主体信用核查、"
    "老旧小区改造项目申报",
    "transport": "公路路政许可协调、道路占用挖掘审核、公务出行车辆调度、交通建设项目初步设计审查、"
    "公交线路调整协调、交通运输数据共享申请、农村公路养护资金拨付、涉路施工安全审查",
    "water": "水土保持方案审查、取水许可协调、河道管理范围内建设项目审查、水利工程资金拨付、防汛物资调用、"
    "水资源论证审核、水库调度协调、农村饮用水安全协调",
    "agriculture": "农业项目资金拨付、高标准农田建设项目审核、设施农业用地备案、农产品质量安全检测协调、"
    "动物防疫物资调拨、农村宅基地审批协调、农业补贴发放审核、农业产业化龙头企业推荐、乡村振兴项目申报",
    "commerce": "外贸企业扶持资金拨付、招商引资项目准入审核、展会活动组织协调、外资项目信息报送、"
    "商贸流通项目申报、电子商务示范推荐、生活必需品应急储备调用、对外经贸合作协调",
    "culture_tourism": "文物保护单位范围内建设审核、大型文体活动审批协调、旅游项目资金申请、体育场馆使用申请、"
    "文化遗产保护资金拨付、A级旅游景区评定推荐、广播电视设施迁移协调、公共文化场馆借用",
    "health": "医疗卫生机构设置审核、公共卫生应急物资调拨、重大活动医疗保障协调、卫生监督协同执法、"
    "干部健康体检安排、医疗机构执业登记协调、疫情防控数据共享申请、基层医疗项目资金拨付",
    "veterans": "退役士兵安置计划审核、优抚对象信息核查、军休干部移交、双拥经费拨付、烈士纪念设施维护协调、"
    "退役军人就业创业扶持资金拨付、优待证办理协调",
    "emergency": "安全生产事故调查协调、应急物资调用、应急预案备案、安全生产联合执法检查、应急救援力量调度、"
    "自然灾害救助资金拨付、危险化学品安全审查、防灾减灾项目审核",
    "audit": "审计结果运用、审计整改情况报送、经济责任审计计划申报、政府投资项目审计委托、审计发现问题移送处理、"
    "内部审计工作指导、审计资料调取、审计报告查阅",
    "market_regulation": "企业登记信息查询、市场主体信用信息核查、食品安全联合检查、计量器具检定委托、"
    "标准化项目申报、特种设备安全监察协调、价格监督检查协作、广告监测线索移交、知识产权保护协作",
    "statistics": "统计调查项目审批、统计数据共享申请、统计资料查阅、统计执法检查协调、统计报表布置备案、"
    "普查经费拨付、统计数据质量核查",
    "medical_security": "医保基金结算审核、医保定点协议管理协调、医保数据共享申请、医疗救助资金拨付、"
    "药品集中采购协调、医保基金监管联合检查、医保参保信息核查",
    "forestry": "林地使用审核、林木采伐审批协调、森林防火物资调用、林业项目资金拨付、古树名木保护协调、"
    "自然保护地范围核查、林业有害生物防治协调、生态公益林补偿资金拨付",
    "government_affairs": "公章刻制备案、公务用车使用审批、办公用房调配、会议室及场地使用、公务用车购置审批、"
    "办公用房维修审批、机关食堂就餐服务申请、公共机构节能项目审核、公务接待场所安排、机关资产调剂使用",
    "archives": "档案查阅利用、档案移交进馆、档案数字化成果移交、档案鉴定销毁审核、档案寄存申请、"
    "档案复制证明出具、馆藏资料借阅、重大活动档案收集归档",
    "service_center": "政务服务事项目录调整、进驻窗口调整审核、办事指南变更备案、一窗受理事项授权、"
    "政务服务好差评整改销号、好差评数据共享申请、线上办事系统对接申请、政务服务场地使用",
    "state_assets": "国有企业重大投资备案@state_assets、国有产权转让审核、国有资本经营预算申请、"
    "国企负责人薪酬核定、国有资产评估备案、国企改革方案审核、国有企业担保事项审批",
    "ethnic_religious": "宗教活动场所设立审核、民族团结进步创建项目申报、少数民族发展资金拨付、宗教房产协调、"
    "大型宗教活动备案、民族乡村发展项目审核",
    "big_data": "数据共享申请、公共数据开放审核、信息化项目审批、政务云资源申请、电子政务外网接入申请、"
    "数据回流申请、数据目录编制审核、视频共享平台接入申请、系统上云迁移评估、数据安全风险评估、"
    "政务应用上架审核、统一身份认证接入申请",
    "law_enforcement": "综合执法事项划转协调、联合执法行动协调、违法线索移送、执法协作检查、"
    "户外广告设置审核协调、城市道路临时占用协调、渣土运输核准协调",
    "petition": "信访件转办、信访事项交办、重复信访联合化解、信访复查复核协调、群众来访接待场地申请",
}

#: Parenthesised qualifiers by name ending; the first rule whose ending matches applies.
QUALIFIERS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("备案",), ("新设", "变更", "注销")),
    (("拨付",), ("预拨", "清算", "追加")),
    (("审批", "审核", "核准", "核定", "审查", "认定", "评估", "销号"), ("新增", "调整", "变更")),
    (("申请", "申领"), ("新增", "变更", "延期")),
    (("查询", "核查", "查阅", "利用", "借阅", "调取"), ("批量", "个案", "远程")),
    (("使用", "调用", "调配", "调拨", "调度", "安排", "借用"), ("临时", "紧急", "常态化")),
    (("协调", "协作", "联动", "化解"), ("紧急", "跨区域", "常态化")),
    (("推荐", "申报", "论证"), ("年度", "专项", "增补")),
)
DEFAULT_QUALIFIERS: tuple[str, ...] = ("常规", "紧急", "专项")

#: Groups of county-core functions that review together (会签, 或签, 并联审查, 联合评审); a
#: template takes the first two or three members.
PARTNER_GROUPS: dict[str, tuple[str, ...]] = {
    "establishment": ("hr_social", "finance", "government_office"),
    "personnel": ("staffing", "finance", "government_office"),
    "budget": ("audit", "development", "government_office"),
    "oversight": ("finance", "audit", "government_office"),
    "investment": ("development", "natural_resources", "finance"),
    "land": ("natural_resources", "housing", "ecology"),
    "data": ("big_data", "public_security", "government_office"),
    "safety": ("public_security", "market_regulation", "health"),
    "social": ("civil_affairs", "health", "hr_social"),
}

#: Preferred partner groups of a handling function (default: oversight).  A group containing
#: the handling function itself among the members taken is skipped.
FUNCTION_GROUPS: dict[str, tuple[str, ...]] = {
    "staffing": ("establishment",),
    "hr_social": ("personnel",),
    "finance": ("budget",),
    "education": ("personnel", "social"),
    "veterans": ("social", "personnel"),
    "development": ("land", "oversight"),
    "economy_it": ("investment", "oversight"),
    "natural_resources": ("investment", "land"),
    "housing": ("land", "safety"),
    "water": ("land", "investment"),
    "ecology": ("investment", "land"),
    "transport": ("investment", "safety"),
    "agriculture": ("investment", "land"),
    "forestry": ("land", "investment"),
    "big_data": ("oversight",),
    "statistics": ("data",),
    "public_security": ("oversight",),
    "market_regulation": ("data",),
    "health": ("oversight",),
    "medical_security": ("social", "data"),
    "civil_affairs": ("data",),
    "emergency": ("safety", "investment"),
    "law_enforcement": ("safety", "land"),
    "service_center": ("data", "oversight"),
    "government_affairs": ("oversight", "personnel"),
    "archives": ("data",),
    "commerce": ("investment", "safety"),
    "culture_tourism": ("land", "safety"),
    "ethnic_religious": ("social",),
    "science_tech": ("investment", "oversight"),
    "audit": ("investment", "personnel"),
    "state_assets": ("oversight", "investment"),
    "reform_office": ("data", "oversight"),
    "government_office": ("oversight", "investment"),
    "justice": ("oversight",),
    "petition": ("social", "oversight"),
}

#: Legal basis by function (fallback: the province's internal-affairs catalogue rules).
LEGAL_BASIS: dict[str, str] = {
    "staffing": "《机构编制工作条例》《浙江省机构编制管理办法》",
    "finance": "《中华人民共和国预算法》《中华人民共和国政府采购法》",
    "hr_social": "《事业单位人事管理条例》《公务员调任规定》",
    "big_data": "《中华人民共和国数据安全法》《浙江省公共数据条例》",
    "audit": "《中华人民共和国审计法》",
    "archives": "《中华人民共和国档案法》",
    "statistics": "《中华人民共和国统计法》",
    "development": "《政府投资条例》",
    "natural_resources": "《中华人民共和国土地管理法》《中华人民共和国城乡规划法》",
    "government_affairs": "《机关事务管理条例》《党政机关公务用车管理办法》",
    "justice": "《浙江省行政规范性文件管理办法》",
}
DEFAULT_BASIS = "《浙江省机关内部“最多跑一次”改革事项目录》及部门职责规定"

#: Matter-name endings that suggest an immediate (即办) matter (space-separated).
QUICK_ENDINGS = "备案 查询 查阅 登记 领购 借阅 调取 利用 报送 核查 出具 移交 转办 交办"

#: Form profile by keywords (space-separated) in the unqualified matter name; the first match wins, else "generic".
PROFILE_KEYWORDS: dict[str, str] = {
    "archive": "档案 馆藏 资料查阅 报告查阅 资料调取",
    "data": "数据 信息核查 信息查询 系统 云 接入 目录 平台",
    "money": "资金 预算 拨付 经费 采购 补助 费用 债 资产 薪酬 结算 票据 用款 担保 投资备案 产权",
    "personnel": "编制 职数 人员 调入 职称 招聘 岗位 工资 养老 人才 退休 人事 用工 安置 干部 教师 表彰 军休 特派员",
    "use": "使用 借用 调配 用车 用房 场地 会议室 场馆 调用 调拨 调度 接待 就餐 物资",
    "project": "项目 工程 规划 建设 用地 方案",
}

#: Weights ("template:weight", space-separated) of the process templates a promised matter of each form profile uses.
KIND_WEIGHTS: dict[str, str] = {
    "money": "amount:40 cosign:15 cosign_seq:10 linear2:15 linear_head:10 joint:5 parallel:5",
    "data": "data_branch:40 anysign:15 linear2:20 cosign:15 linear3:10",
    "project": "joint:30 parallel:30 linear_head:15 cosign:15 ratio:10",
    "personnel": "cosign:30 cosign_seq:15 applicant_confirm:25 linear2:20 linear_head:10",
    "use": "linear2:35 applicant_confirm:30 review:20 anysign:15",
    "archive": "review:45 linear2:40 applicant_confirm:15",
    "generic": "linear2:25 linear3:15 review:10 applicant_confirm:15 anysign:10 ratio:10 parallel:10 cosign:5",
}

#: Materials (name, required, formats) by form profile, after the 申请函 every matter asks for.
PROFILE_MATERIALS: dict[str, tuple[tuple[str, bool, str], ...]] = {
    "money": (("资金使用方案", True, "pdf docx"), ("预算明细表", True, "xls xlsx")),
    "personnel": (("人员信息表", True, "xls xlsx"), ("相关会议纪要", False, "pdf ofd")),
    "data": (("数据需求清单", True, "xlsx xls"), ("数据安全承诺书", True, "pdf ofd")),
    "use": (("使用方案", False, "pdf docx"),),
    "archive": (("查阅人工作证件", True, "jpg png pdf"),),
    "project": (("项目方案", True, "pdf docx"), ("项目批复文件", False, "pdf ofd zip")),
    "generic": (("单位统一社会信用代码证", False, "pdf jpg png"),),
}
#: 减材料: materials a unit's shared document (or an earlier result) satisfies — the material's ``shared_kind``
SHARED_KINDS: dict[str, str] = {
    "单位统一社会信用代码证": "统一社会信用代码证",
    "数据安全承诺书": "数据安全承诺书",
    "项目批复文件": "result",
}
EXTRA_MATERIALS: tuple[tuple[str, bool, str], ...] = (
    ("情况说明", False, "pdf docx txt"),
    ("党组（党委）会议纪要", False, "pdf ofd"),
    ("其他补充材料", False, "zip pdf"),
)
