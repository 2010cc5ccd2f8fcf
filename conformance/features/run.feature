Feature: Run Task
  As an implementer of the workflow DSL
  I want to ensure that run tasks execute processes and subflows
  So that my implementation conforms to the expected behavior

  Scenario: Shell command with arguments, stdin and environment returns stdout
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - greet:
          run:
            shell:
              command: 'read word; echo "$word $1 $GREETING"'
              arguments: ['${ .who }']
              stdin: '${ .word }'
              environment:
                GREETING: hello
    """
    And given the workflow input is:
    """yaml
    who: ada
    word: hi
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    "hi ada hello\n"
    """

  Scenario: Return all gives code, stdout and stderr even for a non-zero exit
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - failing:
          run:
            shell:
              command: 'echo out; echo err >&2; exit 3'
            return: all
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    code: 3
    stdout: "out\n"
    stderr: "err\n"
    """

  Scenario: Return code
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - code:
          run:
            shell: {command: 'exit 5'}
            return: code
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    5
    """

  Scenario: Return stderr
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - warn:
          run:
            shell: {command: 'echo careful >&2'}
            return: stderr
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    "careful\n"
    """

  Scenario: Return none
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - quiet:
          run:
            shell: {command: 'echo ignored'}
            return: none
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    null
    """

  Scenario: A non-zero exit faults a task returning stdout
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - broken:
          run:
            shell: {command: 'echo nope >&2; exit 2'}
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
    status: 500
    detail: 'the process exited with code 2: nope'
    instance: /do/0/broken
    """

  Scenario: Not awaited outputs the transformed input
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - background:
          input:
            from: '${ { kept: .a } }'
          run:
            shell: {command: 'sleep 5'}
            await: false
    """
    And given the workflow input is:
    """yaml
    a: 1
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    kept: 1
    """

  Scenario: A JavaScript script reads argv and environment
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - js:
          run:
            script:
              language: js
              code: 'console.log(JSON.stringify({ args: process.argv.slice(2), env: process.env.FOO }))'
              arguments: [a, b]
              environment: {FOO: bar}
          output:
            as: '${ fromjson }'
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    args: [a, b]
    env: bar
    """

  Scenario: A Python script reads stdin
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - py:
          run:
            script:
              language: python
              code: 'import sys; print(sys.stdin.read()[::-1])'
              stdin: abc
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    "cba\n"
    """

  Scenario: A task timeout stops a long process
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - slow:
          timeout:
            after: {milliseconds: 100}
          run:
            shell: {command: 'sleep 30'}
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
    status: 408
    instance: /do/0/slow
    """

  Scenario: A subflow's output is the task's output
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - child:
          run:
            workflow:
              namespace: conformance
              name: double
              version: '1.0.0'
              input:
                n: '${ .n + 1 }'
    """
    And given the workflow input is:
    """yaml
    n: 2
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    n: 6
    """

  Scenario: A subflow at version latest
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - child:
          run:
            workflow:
              namespace: conformance
              name: double
              version: latest
    """
    And given the workflow input is:
    """yaml
    n: 4
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    n: 8
    version: '2'
    """

  Scenario: A subflow's fault is the task's fault
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - child:
          run:
            workflow: {namespace: conformance, name: refuse, version: '1.0.0'}
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://nagare.test/errors/refused
    status: 409
    """

  Scenario: A subflow's input schema applies to the input it is given
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - child:
          run:
            workflow:
              namespace: conformance
              name: double
              version: '1.0.0'
              input: {m: 1}
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/validation
    status: 400
    """

  Scenario: A Python script from an external source
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - shout:
          run:
            script:
              language: python
              source:
                endpoint: file://conformance/scripts/shout.py
              arguments: [hello, world]
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    "HELLO WORLD\n"
    """

  Scenario: A JavaScript script from an external source
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - sum:
          run:
            script:
              language: javascript
              source:
                endpoint:
                  uri: file://conformance/scripts/sum.js
              arguments: ['1', '2', '39']
          output:
            as: '${ tonumber }'
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    42
    """

  Scenario: An unsupported script language is a configuration error
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - ruby:
          run:
            script: {language: ruby, code: 'puts 1'}
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/configuration
    status: 400
    """
