Feature: Runtime Expressions
  As an implementer of the workflow DSL
  I want to ensure that runtime expressions see the arguments the DSL defines
  So that my implementation conforms to the expected behavior

  # $task.name and $task.reference describe the current task.
  Scenario: Task descriptor name and reference
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-task-descriptor, version: '1.0.0'}
    do:
      - first:
          set: ${ . }
      - describeMe:
          set:
            name: ${ $task.name }
            reference: ${ $task.reference }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    name: describeMe
    reference: /do/1/describeMe
    """

  # The reference of a nested task is its full JSON pointer.
  Scenario: Task reference of a nested task
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-task-nested-reference, version: '1.0.0'}
    do:
      - outer:
          do:
            - loop:
                for:
                  in: .items
                do:
                  - inner:
                      set:
                        items: ${ .items }
                        references: ${ .references + [ $task.reference ] }
    """
    And given the workflow input is:
    """yaml
    items: [ 1, 2 ]
    references: []
    """
    When the workflow is executed
    Then the workflow output should have a 'references' property with value:
    """yaml
    [ /do/0/outer/do/0/loop/do/0/inner, /do/0/outer/do/0/loop/do/0/inner ]
    """

  # $task.definition is the task's definition as a parsed object.
  Scenario: Task descriptor definition
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-task-definition, version: '1.0.0'}
    do:
      - introspect:
          metadata:
            owner: team-a
          set:
            owner: ${ $task.definition.metadata.owner }
            isSet: ${ $task.definition | has("set") }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    owner: team-a
    isSet: true
    """

  # $task.startedAt is a date-time descriptor no earlier than the workflow's start.
  Scenario: Task and workflow start times
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-started-at, version: '1.0.0'}
    do:
      - pause:
          wait:
            milliseconds: 5
      - times:
          set:
            ordered: ${ $task.startedAt.epoch.milliseconds >= $workflow.startedAt.epoch.milliseconds }
            seconds: ${ $task.startedAt.epoch.seconds == ($task.startedAt.epoch.milliseconds / 1000 | floor) }
            iso: ${ $task.startedAt.iso8601 | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$") }
            waited: ${ ($task.startedAt.epoch.milliseconds - $workflow.startedAt.epoch.milliseconds) >= 5 }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    ordered: true
    seconds: true
    iso: true
    waited: true
    """

  # $workflow.id is a non-empty string; $workflow.definition is the parsed definition.
  Scenario: Workflow descriptor
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-workflow-descriptor, version: '1.2.3'}
    do:
      - describeWorkflow:
          set:
            idIsString: ${ ($workflow.id | type) == "string" and ($workflow.id | length) > 0 }
            name: ${ $workflow.definition.document.name }
            version: ${ $workflow.definition.document.version }
            firstTask: ${ $workflow.definition.do[0] | keys[0] }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    idIsString: true
    name: expr-workflow-descriptor
    version: 1.2.3
    firstTask: describeWorkflow
    """

  # $workflow.input is the raw workflow input, before the workflow's input.from; $input is the
  # task's transformed input.
  Scenario: Workflow input and task input arguments
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-workflow-input, version: '1.0.0'}
    input:
      from: .payload
    do:
      - first:
          set:
            step: 1
      - second:
          input:
            from: '${ { step: (.step + 1) } }'
          set:
            raw: ${ $workflow.input }
            input: ${ $input }
    """
    And given the workflow input is:
    """yaml
    payload:
      value: 1
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    raw:
      payload:
        value: 1
    input:
      step: 2
    """

  # $runtime describes the runtime: nagare names itself.
  Scenario: Runtime descriptor
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-runtime, version: '1.0.0'}
    do:
      - describeRuntime:
          set:
            name: ${ $runtime.name }
            versionIsString: ${ ($runtime.version | type) == "string" }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    name: nagare
    versionIsString: true
    """

  # No secret is configured for these runs: $secrets is an empty map.
  Scenario: Secrets argument without secrets
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-secrets, version: '1.0.0'}
    do:
      - readSecrets:
          input:
            from: '${ { secrets: $secrets } }'
          set: ${ . }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    secrets: {}
    """

  # Expression results keep their JSON types.
  Scenario: Expression results keep their types
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-types, version: '1.0.0'}
    do:
      - types:
          set:
            number: ${ 1 + 2 }
            decimal: ${ 1 / 4 }
            boolean: ${ 1 < 2 }
            nothing: ${ null }
            array: ${ [ 1, "two" ] }
            object: '${ { a: 1 } }'
            text: ${ "x" * 3 }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    number: 3
    decimal: 0.25
    boolean: true
    nothing: null
    array: [ 1, two ]
    object:
      a: 1
    text: xxx
    """

  # jq string interpolation and common builtins.
  Scenario: jq builtins and string interpolation
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-builtins, version: '1.0.0'}
    do:
      - compute:
          set:
            greeting: ${ "Hello \(.name | ascii_upcase)!" }
            total: ${ [ .items[].price ] | add }
            cheap: ${ [ .items[] | select(.price < 5) | .name ] }
            names: ${ .items | map(.name) | join(",") }
            count: ${ .items | length }
            sorted: ${ .items | sort_by(-.price) | map(.name) }
            keys: ${ .items[0] | keys }
            reduced: ${ reduce .items[] as $i (0; . + $i.price) }
    """
    And given the workflow input is:
    """yaml
    name: ada
    items:
      - { name: pen, price: 2 }
      - { name: book, price: 12 }
      - { name: cup, price: 4 }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    greeting: Hello ADA!
    total: 18
    cheap: [ pen, cup ]
    names: pen,book,cup
    count: 3
    sorted: [ book, cup, pen ]
    keys: [ name, price ]
    reduced: 18
    """

  # In strict mode (the default), a string without ${ } is a literal, even if it reads as jq.
  Scenario: Strict mode keeps non-enclosed strings literal
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-strict, version: '1.0.0'}
    do:
      - literal:
          set:
            formula: .a + 1
            enclosed: ${ .a + 1 }
    """
    And given the workflow input is:
    """yaml
    a: 1
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    formula: .a + 1
    enclosed: 2
    """

  # Loose mode evaluates strings that are not enclosed in ${ }.
  Scenario: Loose mode evaluates bare expressions
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-loose, version: '1.0.0'}
    evaluate:
      mode: loose
    do:
      - compute:
          set:
            sum: .a + .b
            enclosed: ${ .a * .b }
            list: '[ .a, .b ]'
    """
    And given the workflow input is:
    """yaml
    a: 2
    b: 3
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    sum: 5
    enclosed: 6
    list: [ 2, 3 ]
    """

  # Loose mode: a string that is not a valid expression, or whose evaluation fails, is kept
  # as a string with the expression as its content.
  Scenario: Loose mode keeps failing expressions as strings
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-loose-fallback, version: '1.0.0'}
    evaluate:
      mode: loose
    do:
      - compute:
          set:
            prose: just some words, not jq
            failing: .a.b
            working: .a
    """
    And given the workflow input is:
    """yaml
    a: 5
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    prose: just some words, not jq
    failing: .a.b
    working: 5
    """

  # dsl.md, Runtime Expressions: a failing evaluation raises an expression error (400) whose
  # instance is the task.
  Scenario: Failing expression faults with an expression error
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-error, version: '1.0.0'}
    do:
      - fine:
          set:
            value: ${ .value }
      - broken:
          set:
            value: ${ .value.nested }
    """
    And given the workflow input is:
    """yaml
    value: 3
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/expression
    status: 400
    instance: /do/1/broken
    """
    And broken should fault
    And fine should complete

  # An expression error in a task's if faults that task.
  Scenario: Failing if condition faults with an expression error
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-if-error, version: '1.0.0'}
    do:
      - guarded:
          if: ${ .count > (.limit | tonumber) }
          set:
            ran: true
    """
    And given the workflow input is:
    """yaml
    count: 1
    limit: many
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/expression
    status: 400
    instance: /do/0/guarded
    """

  # An expression error in output.as faults the task.
  Scenario: Failing output.as faults with an expression error
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-output-error, version: '1.0.0'}
    do:
      - compute:
          set:
            text: abc
          output:
            as: ${ .text + 1 }
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/expression
    status: 400
    instance: /do/0/compute
    """

  # An expression in the workflow's output.as that fails faults the workflow.
  Scenario: Failing workflow output.as faults with an expression error
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-workflow-output-error, version: '1.0.0'}
    do:
      - compute:
          set:
            text: abc
    output:
      as: ${ .text | tonumber }
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/expression
    status: 400
    instance: /output
    """

  # nagare's reading: an expression producing several values gives its first, none gives null.
  Scenario: Expressions producing several values or none
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-streams, version: '1.0.0'}
    do:
      - compute:
          set:
            first: ${ .items[] }
            none: ${ empty }
    """
    And given the workflow input is:
    """yaml
    items: [ a, b, c ]
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    first: a
    none: null
    """

  # Templates are evaluated at any depth of objects and arrays.
  Scenario: Nested templates
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-nested-templates, version: '1.0.0'}
    do:
      - build:
          set:
            order:
              id: ${ .id }
              lines:
                - sku: ${ .sku }
                  quantity: ${ .quantity * 2 }
                - sku: fixed
                  quantity: 1
    """
    And given the workflow input is:
    """yaml
    id: 9
    sku: A-1
    quantity: 3
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    order:
      id: 9
      lines:
        - sku: A-1
          quantity: 6
        - sku: fixed
          quantity: 1
    """

  # Workflow input.from sees $workflow and $runtime.
  Scenario: Arguments of the workflow input transformation
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-workflow-input-from, version: '1.0.0'}
    input:
      from:
        value: ${ .value }
        rawCopy: ${ $workflow.input }
        runtime: ${ $runtime.name }
    do:
      - echo:
          set: ${ . }
    """
    And given the workflow input is:
    """yaml
    value: 1
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    value: 1
    rawCopy:
      value: 1
    runtime: nagare
    """

  # Workflow output.as sees the final context.
  Scenario: Context in the workflow output transformation
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-workflow-output-context, version: '1.0.0'}
    do:
      - remember:
          set:
            secretSauce: 42
          export:
            as: .
      - work:
          set:
            result: done
    output:
      as:
        result: ${ .result }
        remembered: ${ $context.secretSauce }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    result: done
    remembered: 42
    """

  # An expression error in export.as faults the task.
  Scenario: Failing export.as faults with an expression error
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-export-error, version: '1.0.0'}
    do:
      - first:
          set:
            ok: true
      - remember:
          set:
            list: [ 1 ]
          export:
            as: ${ .list.name }
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/expression
    status: 400
    instance: /do/1/remember
    """
