//! Quota-aware poll scheduling (pure). A polled network's daily budget (YouTube: 10,000 units
//! per project per day) is shared by every account on it and by the replies teammates send;
//! polling must never spend the units a reply needs. The rule: spread what is left after the
//! reply reserve evenly over the time left until the provider's reset, across the accounts.

use std::time::Duration;

/// A network's budget, as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaPlan {
    /// Units per day for the whole project (all accounts).
    pub daily_units: u32,
    /// Units kept back for replies and moderation: polling stops before it would touch them.
    pub reply_reserve_units: u32,
    /// Never poll one account more often than this, however much budget is left.
    pub min_interval: Duration,
}

/// When to poll an account next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextPoll {
    /// In this long.
    In(Duration),
    /// The budget left is the replies' reserve: wait for the provider's reset.
    AtReset,
}

/// The interval before the next poll of one of `accounts` accounts, given what was spent
/// since the last reset, the time until the next one and what one poll costs.
pub fn next_poll(
    plan: QuotaPlan,
    spent_today: u32,
    until_reset: Duration,
    accounts: u32,
    units_per_poll: u32,
) -> NextPoll {
    let left = plan
        .daily_units
        .saturating_sub(plan.reply_reserve_units)
        .saturating_sub(spent_today);
    let per_round = units_per_poll.max(1).saturating_mul(accounts.max(1));
    if left < per_round {
        return NextPoll::AtReset;
    }
    // Rounds we can still afford before the reset, spread over the time left.
    let rounds = u64::from(left / per_round);
    let spread = until_reset.as_secs_f64() / rounds as f64;
    NextPoll::In(Duration::from_secs_f64(spread).max(plan.min_interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn plan() -> QuotaPlan {
        QuotaPlan {
            daily_units: 10_000,
            reply_reserve_units: 4_000,
            min_interval: Duration::from_secs(60),
        }
    }

    #[test]
    fn one_account_polls_about_once_a_minute_on_a_fresh_day() {
        // 6,000 units for polls, 4 units a poll: 1,500 rounds over a day = every 57.6 s,
        // clamped to the minute.
        assert_eq!(
            next_poll(plan(), 0, DAY, 1, 4),
            NextPoll::In(Duration::from_secs(60))
        );
    }

    #[test]
    fn more_accounts_share_the_budget_and_poll_less_often() {
        // 10 accounts: 150 rounds a day, one every 576 s.
        assert_eq!(
            next_poll(plan(), 0, DAY, 10, 4),
            NextPoll::In(Duration::from_secs(576))
        );
    }

    #[test]
    fn spending_slows_polling_and_the_reserve_stops_it() {
        let half_day = Duration::from_secs(43_200);
        // 5,000 spent, 1,000 left for polls over 12 h across 5 accounts at 4 units: 50
        // rounds, one every 864 s.
        assert_eq!(
            next_poll(plan(), 5_000, half_day, 5, 4),
            NextPoll::In(Duration::from_secs(864))
        );
        // Only the reserve is left: polls wait for the reset, replies keep their units.
        assert_eq!(next_poll(plan(), 6_000, half_day, 1, 4), NextPoll::AtReset);
        assert_eq!(next_poll(plan(), 9_990, half_day, 1, 4), NextPoll::AtReset);
        // Less than one round left for all accounts: wait too.
        assert_eq!(next_poll(plan(), 5_990, half_day, 5, 4), NextPoll::AtReset);
    }

    #[test]
    fn degenerate_inputs_never_divide_by_zero() {
        assert_eq!(
            next_poll(plan(), 0, DAY, 0, 0),
            NextPoll::In(Duration::from_secs(60))
        );
        let broke = QuotaPlan {
            daily_units: 100,
            reply_reserve_units: 500,
            ..plan()
        };
        assert_eq!(next_poll(broke, 0, DAY, 1, 1), NextPoll::AtReset);
    }
}
