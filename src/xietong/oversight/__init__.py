"""Oversight of cases by those who do not handle them: 催办, 督办, 抄送, 评价 and 整改, and saved opinion phrases."""
