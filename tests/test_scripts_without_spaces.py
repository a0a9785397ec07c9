"""Texts in scripts written without spaces: what they share by grammar alone is not a rewrite."""

from __future__ import annotations

import dedup
from dedup import Document

# Six unrelated short reports written for this test (a singer, a play, a heat wave, a company, a school, a
# football club): they share only the commonest characters of the language.
UNRELATED = [
    "这位歌手出生于一个普通的家庭，从小就对音乐有着浓厚的兴趣。她在大学期间开始创作自己的歌曲，并在一次比赛中获得了第一名。毕业以后，她和一家唱片公司签约，发行了第一张专辑。这张专辑在市场上取得了很好的成绩，她也因此成为了人们关注的新人。近年来，她一直在全国各地举办演唱会，受到了观众的欢迎。",
    "昨天晚上，这部话剧在市中心的大剧院首次上演。导演说，这个故事讲的是一个小城市里几代人的生活和变化。演员们的表演非常自然，观众们在演出结束以后长时间鼓掌。剧院的负责人表示，这部话剧将在下个月继续演出，并且计划到其他城市进行巡演。有评论认为，这是今年最值得一看的作品之一。",
    "今年夏天，这个城市的气温比往年高了很多。气象部门提醒市民注意防暑，尽量减少在中午时间外出。很多学校提前放假，商场和图书馆里的人比平时多了不少。专家指出，城市里的绿地越来越少，是气温升高的原因之一，政府应该在规划中增加更多的公园和树木。",
    "这家公司在上个季度的收入增长了百分之十二，主要来自于海外市场的销售。公司的负责人在发布会上说，他们将继续投入研发，推出更多新的产品。分析人士认为，虽然市场竞争越来越激烈，但是这家公司的前景仍然比较乐观。公司的股价在消息公布以后上涨了百分之五。",
    "当地的一所小学最近开展了一项阅读活动，鼓励学生每天读书半个小时。老师们为学生准备了很多有趣的图书，家长们也积极参与。校长说，通过这个活动，学生们的阅读兴趣明显提高了，不少孩子开始主动去图书馆借书。学校计划明年把这个活动推广到全区的其他学校。",
    "一支业余足球队在周末的比赛中以三比二战胜了上届冠军。队员们大多是附近工厂的工人，他们每周只能利用休息时间训练两次。教练说，这场胜利证明了团结和坚持的重要性。比赛结束以后，很多球迷来到球场外面和队员们合影，庆祝这个难得的胜利。",
]


def test_unrelated_chinese_texts_are_not_paired_for_their_common_characters() -> None:
    docs = [Document(f"zh{i}", text) for i, text in enumerate(UNRELATED)]
    assert dedup.scan(docs, score=False).pairs == ()
    # Well under the rewrite line, not just under it: function characters weigh as function words do.
    loose = dedup.scan(docs, score=False, rewrite_cosine=0.2, duplicate_cosine=0.2)
    assert [(p.a, p.b, p.cosine) for p in loose.pairs] == []


def test_a_chinese_text_and_its_copy_are_still_duplicates() -> None:
    copy = UNRELATED[1].replace("昨天晚上", "前天晚上")
    docs = [Document(f"zh{i}", text) for i, text in enumerate(UNRELATED)] + [Document("copy", copy)]
    pairs = dedup.scan(docs, score=False).pairs
    assert [(p.a, p.b, p.relation) for p in pairs] == [("copy", "zh1", "duplicate")]
