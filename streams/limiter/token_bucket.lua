-- Shared token buckets for provider keys: one script, so every decision is atomic, and Redis
-- TIME is the only clock (no process's clock is trusted).
--
-- Each key of a provider is one hash (KEYS share the provider's hash tag, so a cluster keeps
-- them in one slot). Each bucket is stored as its theoretical arrival time (GCRA, in
-- microseconds): level = capacity - max(0, tat - now) / interval. A reservation moves tat
-- forward at the moment the call may send, so waiting callers queue in reservation order and
-- sleep instead of polling; a negative level is the queue.
--
-- Hash fields: req_tat, tok_tat, blocked_until, revoked_at, revoked_reason, hdr_rpm, hdr_tpm
-- (limits from the provider's headers, when lower than configured), epoch (bumped by each
-- clamp), reserved, throttled (counters).
--
-- ARGV[1] is the operation:
--   reserve   tokens, max_wait_us, resume(0/1), then per key: rpm, tpm, burst, token_burst,
--             skip(0/1), ahead_us (on resume: how far ahead the caller already reserved the
--             key on its local share; the bucket starts empty after that). Picks the key that can send soonest (ties: the most headroom).
--             -> {index, wait_us, t_allow, req_tat, tok_tat, epoch}; {0} no usable key;
--                {-1, wait_us} when even the soonest key is further away than max_wait_us.
--   settle    rpm, tpm, burst, token_burst, reserved_tokens, used_tokens, t_allow, req_tat,
--             tok_tat, epoch, retry_after_us, limit_requests, remaining_requests,
--             limit_tokens, remaining_tokens, revoke_reason   (-1 / '' = unknown)
--             -> {newly_revoked, clamped}
--   reinstate -> 1 if the key was revoked
--   heartbeat process_id, ttl_us (KEYS[1] is the peers set) -> live processes

local TTL_MS = 7 * 24 * 3600 * 1000
local MICROS_PER_MINUTE = 60000000

local op = ARGV[1]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local function num(value, default)
  if value == false or value == nil or value == '' then return default end
  return tonumber(value)
end

local function fmt(x)
  return string.format('%.0f', x)
end

-- Interval (us per unit) and tolerance (capacity in us) of one bucket; nil when unlimited.
-- A lower limit from the provider's headers wins, with the capacity scaled down alike.
local function bucket(rate, capacity, header_rate)
  if rate <= 0 then return nil, nil end
  if header_rate > 0 and header_rate < rate then
    capacity = math.max(1, capacity * header_rate / rate)
    rate = header_rate
  end
  local interval = MICROS_PER_MINUTE / rate
  return interval, capacity * interval
end

if op == 'reserve' then
  local tokens = tonumber(ARGV[2])
  local max_wait = tonumber(ARGV[3])
  local resume = ARGV[4] == '1'
  local best, best_at, best_tat = nil, nil, nil
  local state = {}
  for i, hash in ipairs(KEYS) do
    local base = 4 + (i - 1) * 6
    local rpm, tpm = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
    local burst, token_burst = tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
    local skip = ARGV[base + 5] == '1'
    local f = redis.call('HMGET', hash, 'req_tat', 'tok_tat', 'blocked_until', 'revoked_at',
                         'hdr_rpm', 'hdr_tpm')
    if not skip and not f[4] then
      local ri, rtau = bucket(rpm, burst, num(f[5], 0))
      local ti, ttau = bucket(tpm, token_burst, num(f[6], 0))
      local req_tat, tok_tat = num(f[1], 0), num(f[2], 0)
      if resume then
        -- Back from a Redis outage: what the processes sent on their local shares is unknown,
        -- so start from empty buckets rather than full ones.
        local start = now + tonumber(ARGV[base + 6])
        if ri then req_tat = math.max(req_tat, start + rtau) end
        if ti then tok_tat = math.max(tok_tat, start + ttau) end
        redis.call('HSET', hash, 'req_tat', fmt(req_tat), 'tok_tat', fmt(tok_tat))
      end
      local at = math.max(now, num(f[3], 0))
      if ri then at = math.max(at, req_tat + ri - rtau) end
      if ti then
        -- A request larger than the bucket waits for a full bucket, then goes into debt.
        local cost = math.min(tokens, ttau / ti)
        at = math.max(at, tok_tat + cost * ti - ttau)
      end
      if best == nil or at < best_at or (at == best_at and req_tat < best_tat) then
        best, best_at, best_tat = i, at, req_tat
      end
      state[i] = {ri, ti, req_tat, tok_tat}
    end
  end
  if best == nil then return {0} end
  if best_at - now > max_wait then return {-1, fmt(best_at - now)} end
  local s = state[best]
  local req_tat, tok_tat = s[3], s[4]
  -- Charged at the moment it may send, so a call held back by one bucket never borrows
  -- from the other's past.
  if s[1] then req_tat = math.max(req_tat, best_at) + s[1] end
  if s[2] then tok_tat = math.max(tok_tat, best_at) + tokens * s[2] end
  local hash = KEYS[best]
  redis.call('HSET', hash, 'req_tat', fmt(req_tat), 'tok_tat', fmt(tok_tat))
  redis.call('HINCRBY', hash, 'reserved', 1)
  redis.call('PEXPIRE', hash, TTL_MS)
  local epoch = redis.call('HGET', hash, 'epoch') or '0'
  return {best, fmt(best_at - now), fmt(best_at), fmt(req_tat), fmt(tok_tat), epoch}

elseif op == 'settle' then
  local hash = KEYS[1]
  local rpm, tpm = tonumber(ARGV[2]), tonumber(ARGV[3])
  local burst, token_burst = tonumber(ARGV[4]), tonumber(ARGV[5])
  local reserved, used = tonumber(ARGV[6]), tonumber(ARGV[7])
  local t_allow, my_req_tat, my_tok_tat = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
  local epoch = tonumber(ARGV[11])
  local retry_after = tonumber(ARGV[12])
  local limit_req, remaining_req = tonumber(ARGV[13]), tonumber(ARGV[14])
  local limit_tok, remaining_tok = tonumber(ARGV[15]), tonumber(ARGV[16])
  local reason = ARGV[17]
  local f = redis.call('HMGET', hash, 'req_tat', 'tok_tat', 'hdr_rpm', 'hdr_tpm', 'epoch',
                       'revoked_at', 'blocked_until')
  local hdr_rpm, hdr_tpm = num(f[3], 0), num(f[4], 0)
  -- The provider's own limits, when they say less than configuration (and forgotten when
  -- they no longer do).
  if limit_req > 0 and rpm > 0 then
    if limit_req < rpm then hdr_rpm = limit_req else hdr_rpm = 0 end
  end
  if limit_tok > 0 and tpm > 0 then
    if limit_tok < tpm then hdr_tpm = limit_tok else hdr_tpm = 0 end
  end
  redis.call('HSET', hash, 'hdr_rpm', fmt(hdr_rpm), 'hdr_tpm', fmt(hdr_tpm))
  local ri, rtau = bucket(rpm, burst, hdr_rpm)
  local ti, ttau = bucket(tpm, token_burst, hdr_tpm)
  local req_tat, tok_tat = num(f[1], 0), num(f[2], 0)
  if ti and used >= 0 and used < reserved then
    tok_tat = tok_tat - (reserved - used) * ti
  end
  -- Clamp to the provider's view: compare its remaining (after this call) with ours at the
  -- same moment (after this call, counting only reservations up to it); a shortfall beyond
  -- the header's rounding is pushed onto the bucket. Once per epoch, because every call
  -- reserved before a clamp saw the same shortfall.
  local clamped = 0
  if num(f[5], 0) == epoch then
    local fresh_req = math.max(req_tat, now)
    local fresh_tok = math.max(tok_tat, now)
    if ri and remaining_req >= 0 then
      local ours = (rtau - (my_req_tat - t_allow)) / ri
      local short = ours - (remaining_req + 1)
      if short > 0 then req_tat = fresh_req + short * ri; clamped = 1 end
    end
    if ti and remaining_tok >= 0 then
      local ours = (ttau - (my_tok_tat - t_allow)) / ti
      local short = ours - (remaining_tok + 1)
      if short > 0 then tok_tat = fresh_tok + short * ti; clamped = 1 end
    end
    if clamped == 1 then redis.call('HINCRBY', hash, 'epoch', 1) end
  end
  redis.call('HSET', hash, 'req_tat', fmt(req_tat), 'tok_tat', fmt(tok_tat))
  if retry_after >= 0 then
    -- A 429 holds the key back for every process until the provider's retry-after.
    local blocked = math.max(num(f[7], 0), now + retry_after)
    redis.call('HSET', hash, 'blocked_until', fmt(blocked))
    redis.call('HINCRBY', hash, 'throttled', 1)
  end
  local newly = 0
  if reason ~= '' and not f[6] then
    redis.call('HSET', hash, 'revoked_at', fmt(now), 'revoked_reason', reason)
    newly = 1
  end
  redis.call('PEXPIRE', hash, TTL_MS)
  return {newly, clamped}

elseif op == 'reinstate' then
  local was = redis.call('HDEL', KEYS[1], 'revoked_at', 'revoked_reason')
  return was > 0 and 1 or 0

elseif op == 'heartbeat' then
  local ttl = tonumber(ARGV[3])
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('PEXPIRE', KEYS[1], math.ceil(ttl / 1000))
  return redis.call('ZCARD', KEYS[1])
end

return redis.error_reply('unknown operation ' .. tostring(op))
