Feature: Retry Policies
  As an implementer of the workflow DSL
  I want to ensure that try tasks retry caught errors as their policy says
  So that my implementation conforms to the expected behavior

  # Each attempt counts itself in the workflow context (export.as), which outlives attempts.
  # attempt.count is the number of retries after the first attempt ("Retrying 5 times ...
  # count: 5" in dsl.md, Retries); then catch.do runs.
  Scenario: Retry up to the attempt count then run the handler
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: retry-count, version: '1.0.0'}
    do:
      - attempt:
          try:
            - count:
                set: ${ . }
                export:
                  as: '${ $context + { attempts: (($context.attempts // 0) + 1) } }'
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/transient
                    status: 503
          catch:
            errors:
              with:
                status: 503
            retry:
              delay:
                milliseconds: 1
              limit:
                attempt:
                  count: 2
            do:
              - report:
                  set:
                    attempts: ${ $context.attempts }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    attempts: 3
    """
    And report should run last

  # A retried try that finally succeeds outputs its last task's output; the handler never runs.
  Scenario: Retry until the try list succeeds
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: retry-success, version: '1.0.0'}
    do:
      - attempt:
          try:
            - count:
                set: ${ . }
                export:
                  as: '${ $context + { attempts: (($context.attempts // 0) + 1) } }'
            - flaky:
                if: ${ $context.attempts < 3 }
                raise:
                  error:
                    type: https://example.com/errors/transient
                    status: 503
            - succeed:
                set:
                  attempts: ${ $context.attempts }
                  input: ${ .value }
          catch:
            retry:
              delay:
                milliseconds: 1
              limit:
                attempt:
                  count: 5
            do:
              - handler:
                  set:
                    handled: true
    """
    And given the workflow input is:
    """yaml
    value: kept
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    attempts: 3
    input: kept
    """
    And succeed should run last
    And attempt should complete

  # Without catch.do, exhausted retries fault the try task with the last error.
  Scenario: Exhausted retries without a handler fault with the last error
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: retry-exhausted, version: '1.0.0'}
    do:
      - attempt:
          try:
            - count:
                set: ${ . }
                export:
                  as: '${ $context + { attempts: (($context.attempts // 0) + 1) } }'
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/transient
                    status: 503
                    detail: ${ "attempt \($context.attempts)" }
          catch:
            retry:
              delay:
                milliseconds: 1
              limit:
                attempt:
                  count: 3
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/transient
    status: 503
    detail: attempt 4
    instance: /do/0/attempt/try/1/boom
    """
    And attempt should fault

  # An error the catch filter rejects is never retried.
  Scenario: Errors outside the catch filter are not retried
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: retry-filtered, version: '1.0.0'}
    do:
      - attempt:
          try:
            - count:
                set: ${ . }
                export:
                  as: '${ $context + { attempts: (($context.attempts // 0) + 1) } }'
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/permanent
                    status: 400
                    detail: ${ "attempt \($context.attempts)" }
          catch:
            errors:
              with:
                status: 503
            retry:
              delay:
                milliseconds: 1
              limit:
                attempt:
                  count: 3
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/permanent
    status: 400
    detail: attempt 1
    instance: /do/0/attempt/try/1/boom
    """

  # retry.when false: the caught error is not retried; the handler runs after one attempt.
  Scenario: Retry only when the retry condition holds
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: retry-when, version: '1.0.0'}
    do:
      - attempt:
          try:
            - count:
                set: ${ . }
                export:
                  as: '${ $context + { attempts: (($context.attempts // 0) + 1) } }'
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 500
          catch:
            retry:
              when: ${ $error.status == 503 }
              delay:
                milliseconds: 1
              limit:
                attempt:
                  count: 3
            do:
              - report:
                  set:
                    attempts: ${ $context.attempts }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    attempts: 1
    """

  # retry.when true: retried.
  Scenario: Retry when the retry condition holds
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: retry-when-true, version: '1.0.0'}
    do:
      - attempt:
          try:
            - count:
                set: ${ . }
                export:
                  as: '${ $context + { attempts: (($context.attempts // 0) + 1) } }'
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 503
          catch:
            retry:
              when: ${ $error.status == 503 }
              delay:
                milliseconds: 1
              limit:
                attempt:
                  count: 1
            do:
              - report:
                  set:
                    attempts: ${ $context.attempts }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    attempts: 2
    """

  # retry.exceptWhen true: not retried.
  Scenario: No retry when the exceptWhen condition holds
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: retry-except-when, version: '1.0.0'}
    do:
      - attempt:
          try:
            - count:
                set: ${ . }
                export:
                  as: '${ $context + { attempts: (($context.attempts // 0) + 1) } }'
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/fatal
                    status: 500
          catch:
            retry:
              exceptWhen: ${ $error.type == "https://example.com/errors/fatal" }
              delay:
                milliseconds: 1
              limit:
                attempt:
                  count: 3
            do:
              - report:
                  set:
                    attempts: ${ $context.attempts }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    attempts: 1
    """

  # A retry policy from use.retries, referenced by name.
  Scenario: Retry with a reusable retry policy
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: retry-named, version: '1.0.0'}
    use:
      retries:
        twice:
          delay:
            milliseconds: 1
          limit:
            attempt:
              count: 2
    do:
      - attempt:
          try:
            - count:
                set: ${ . }
                export:
                  as: '${ $context + { attempts: (($context.attempts // 0) + 1) } }'
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 503
          catch:
            retry: twice
            do:
              - report:
                  set:
                    attempts: ${ $context.attempts }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    attempts: 3
    """

  # Constant backoff: every retry waits the delay. Each attempt records when it started.
  Scenario: Constant backoff waits the delay before each retry
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: retry-constant, version: '1.0.0'}
    do:
      - attempt:
          try:
            - stamp:
                set: ${ . }
                export:
                  as: '${ $context + { starts: (($context.starts // []) + [ $task.startedAt.epoch.milliseconds ]) } }'
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 503
          catch:
            retry:
              delay:
                milliseconds: 10
              backoff:
                constant: {}
              limit:
                attempt:
                  count: 3
            do:
              - report:
                  set:
                    attempts: ${ $context.starts | length }
                    longEnough: '${ $context.starts as $s | [ range(1; $s | length) as $i | ($s[$i] - $s[$i - 1]) >= 10 ] }'
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    attempts: 4
    longEnough: [ true, true, true ]
    """

  # Linear backoff: retry n (from 0) waits delay × (n + 1).
  Scenario: Linear backoff grows the delay linearly
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: retry-linear, version: '1.0.0'}
    do:
      - attempt:
          try:
            - stamp:
                set: ${ . }
                export:
                  as: '${ $context + { starts: (($context.starts // []) + [ $task.startedAt.epoch.milliseconds ]) } }'
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 503
          catch:
            retry:
              delay:
                milliseconds: 10
              backoff:
                linear: {}
              limit:
                attempt:
                  count: 3
            do:
              - report:
                  set:
                    attempts: ${ $context.starts | length }
                    longEnough: '${ $context.starts as $s | [ range(1; $s | length) as $i | ($s[$i] - $s[$i - 1]) >= (10 * $i) ] }'
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    attempts: 4
    longEnough: [ true, true, true ]
    """

  # Exponential backoff: retry n (from 0) waits delay × 2ⁿ.
  Scenario: Exponential backoff doubles the delay
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: retry-exponential, version: '1.0.0'}
    do:
      - attempt:
          try:
            - stamp:
                set: ${ . }
                export:
                  as: '${ $context + { starts: (($context.starts // []) + [ $task.startedAt.epoch.milliseconds ]) } }'
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 503
          catch:
            retry:
              delay:
                milliseconds: 10
              backoff:
                exponential: {}
              limit:
                attempt:
                  count: 3
            do:
              - report:
                  set:
                    attempts: ${ $context.starts | length }
                    longEnough: '${ $context.starts as $s | [ 10, 20, 40 ] as $min | [ range(1; $s | length) as $i | ($s[$i] - $s[$i - 1]) >= $min[$i - 1] ] }'
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    attempts: 4
    longEnough: [ true, true, true ]
    """

  # Jitter adds a random duration within [from, to] to each delay.
  Scenario: Jitter adds at least its lower bound to the delay
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: retry-jitter, version: '1.0.0'}
    do:
      - attempt:
          try:
            - stamp:
                set: ${ . }
                export:
                  as: '${ $context + { starts: (($context.starts // []) + [ $task.startedAt.epoch.milliseconds ]) } }'
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 503
          catch:
            retry:
              delay:
                milliseconds: 5
              jitter:
                from:
                  milliseconds: 10
                to:
                  milliseconds: 15
              limit:
                attempt:
                  count: 2
            do:
              - report:
                  set:
                    attempts: ${ $context.starts | length }
                    longEnough: '${ $context.starts as $s | [ range(1; $s | length) as $i | ($s[$i] - $s[$i - 1]) >= 15 ] }'
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    attempts: 3
    longEnough: [ true, true ]
    """

  # The delay may be an ISO 8601 duration.
  Scenario: Retry delay written as an ISO 8601 duration
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: retry-iso-delay, version: '1.0.0'}
    do:
      - attempt:
          try:
            - stamp:
                set: ${ . }
                export:
                  as: '${ $context + { starts: (($context.starts // []) + [ $task.startedAt.epoch.milliseconds ]) } }'
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 503
          catch:
            retry:
              delay: PT0.02S
              limit:
                attempt:
                  count: 1
            do:
              - report:
                  set:
                    attempts: ${ $context.starts | length }
                    longEnough: ${ ($context.starts[1] - $context.starts[0]) >= 20 }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    attempts: 2
    longEnough: true
    """

  # limit.duration bounds the time during which retries may start: with a 100 ms delay and a
  # 30 ms limit, the second attempt is the last.
  Scenario: Retries stop when the retry duration limit is reached
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: retry-limit-duration, version: '1.0.0'}
    do:
      - attempt:
          try:
            - count:
                set: ${ . }
                export:
                  as: '${ $context + { attempts: (($context.attempts // 0) + 1) } }'
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 503
          catch:
            retry:
              delay:
                milliseconds: 100
              limit:
                duration:
                  milliseconds: 30
            do:
              - report:
                  set:
                    attempts: ${ $context.attempts }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    attempts: 2
    """

  # A failing HTTP call is retried, then handled.
  Scenario: Retry a failing HTTP call
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: retry-http, version: '1.0.0'}
    do:
      - attempt:
          try:
            - count:
                set: ${ . }
                export:
                  as: '${ $context + { attempts: (($context.attempts // 0) + 1) } }'
            - unavailable:
                call: http
                with:
                  method: get
                  endpoint: https://httpbin.org/status/503
          catch:
            errors:
              with:
                type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
                status: 503
            retry:
              delay:
                milliseconds: 1
              limit:
                attempt:
                  count: 2
            do:
              - report:
                  set:
                    attempts: ${ $context.attempts }
                    status: ${ $error.status }
                    instance: ${ $error.instance }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    attempts: 3
    status: 503
    instance: /do/0/attempt/try/1/unavailable
    """
