Feature: For Task
  As an implementer of the workflow DSL
  I want to ensure that for tasks iterate as the DSL describes
  So that my implementation conforms to the expected behavior

  # for.each and for.at name the item and index variables; each iteration takes the previous
  # iteration's output as its input.
  Scenario: For task with custom item and index names
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: for-custom-names, version: '1.0.0'}
    do:
      - loop:
          for:
            each: fruit
            in: .fruits
            at: position
          do:
            - collect:
                set:
                  fruits: ${ .fruits }
                  seen: ${ .seen + [ "\($position):\($fruit)" ] }
    """
    And given the workflow input is:
    """yaml
    fruits: [ apple, banana, cherry ]
    seen: []
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    fruits: [ apple, banana, cherry ]
    seen: [ '0:apple', '1:banana', '2:cherry' ]
    """

  # Without each and at, the variables are $item and $index.
  Scenario: For task with default item and index names
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: for-default-names, version: '1.0.0'}
    do:
      - loop:
          for:
            in: .numbers
          do:
            - accumulate:
                set:
                  numbers: ${ .numbers }
                  items: ${ .items + [ $item ] }
                  indexes: ${ .indexes + [ $index ] }
    """
    And given the workflow input is:
    """yaml
    numbers: [ 10, 20, 30 ]
    items: []
    indexes: []
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    numbers: [ 10, 20, 30 ]
    items: [ 10, 20, 30 ]
    indexes: [ 0, 1, 2 ]
    """

  # Only each is renamed: the index keeps its default name.
  Scenario: For task with a custom item name and the default index name
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: for-each-only, version: '1.0.0'}
    do:
      - loop:
          for:
            each: letter
            in: '${ .letters }'
          do:
            - join:
                set:
                  letters: ${ .letters }
                  word: ${ .word + $letter + ($index | tostring) }
    """
    And given the workflow input is:
    """yaml
    letters: [ a, b ]
    word: ''
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    letters: [ a, b ]
    word: a0b1
    """

  # A for over an empty collection runs no iteration: its output is its input.
  Scenario: For task over an empty list
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: for-empty, version: '1.0.0'}
    do:
      - loop:
          for:
            in: .items
          do:
            - neverRuns:
                set:
                  touched: true
      - after:
          set:
            items: ${ .items }
            touched: ${ .touched // false }
    """
    And given the workflow input is:
    """yaml
    items: []
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    items: []
    touched: false
    """
    And loop should complete with output:
    """yaml
    items: []
    """
    And after should run after loop

  # while is the condition that must hold for the iteration to continue: nagare checks it
  # before each iteration, on the output of the previous one.
  Scenario: For task stops when its while condition no longer holds
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: for-while, version: '1.0.0'}
    do:
      - loop:
          for:
            each: n
            in: .numbers
          while: .total < 5
          do:
            - add:
                set:
                  numbers: ${ .numbers }
                  total: ${ .total + $n }
                  added: ${ .added + [ $n ] }
    """
    And given the workflow input is:
    """yaml
    numbers: [ 1, 2, 3, 4, 5 ]
    total: 0
    added: []
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    numbers: [ 1, 2, 3, 4, 5 ]
    total: 6
    added: [ 1, 2, 3 ]
    """

  # The while condition sees the iteration variables of the iteration about to run.
  Scenario: For task while condition using the item variable
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: for-while-item, version: '1.0.0'}
    do:
      - loop:
          for:
            each: word
            in: .words
          while: ${ $word != "stop" }
          do:
            - keep:
                set:
                  words: ${ .words }
                  kept: ${ .kept + [ $word ] }
    """
    And given the workflow input is:
    """yaml
    words: [ go, on, stop, never ]
    kept: []
    """
    When the workflow is executed
    Then the workflow output should have a 'kept' property with value:
    """yaml
    [ go, on ]
    """

  # A false while before the first iteration: the body never runs.
  Scenario: For task whose while condition is false from the start
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: for-while-false, version: '1.0.0'}
    do:
      - loop:
          for:
            in: .items
          while: .go
          do:
            - body:
                set:
                  ran: true
    """
    And given the workflow input is:
    """yaml
    items: [ 1, 2 ]
    go: false
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    items: [ 1, 2 ]
    go: false
    """
    And loop should run last

  # Every task of the body runs once per item, in order.
  Scenario: For task body with several tasks
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: for-body-order, version: '1.0.0'}
    do:
      - loop:
          for:
            in: .items
          do:
            - first:
                set:
                  items: ${ .items }
                  log: ${ .log + [ "first-\($item)" ] }
            - second:
                set:
                  items: ${ .items }
                  log: ${ .log + [ "second-\($item)" ] }
    """
    And given the workflow input is:
    """yaml
    items: [ a, b ]
    log: []
    """
    When the workflow is executed
    Then the workflow output should have a 'log' property with value:
    """yaml
    [ first-a, second-a, first-b, second-b ]
    """
    And loop should run first
    And second should run last

  # Inner loops see the variables of the outer ones.
  Scenario: Nested for tasks
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: for-nested, version: '1.0.0'}
    do:
      - rows:
          for:
            each: row
            in: .rows
            at: r
          do:
            - columns:
                for:
                  each: column
                  in: .columns
                  at: c
                do:
                  - cell:
                      set:
                        rows: ${ .rows }
                        columns: ${ .columns }
                        cells: ${ .cells + [ "\($row)\($column)@\($r),\($c)" ] }
    """
    And given the workflow input is:
    """yaml
    rows: [ A, B ]
    columns: [ x, y ]
    cells: []
    """
    When the workflow is executed
    Then the workflow output should have a 'cells' property with value:
    """yaml
    [ 'Ax@0,0', 'Ay@0,1', 'Bx@1,0', 'By@1,1' ]
    """

  # The collection is computed once, from the for task's input, by any jq expression.
  Scenario: For task over a computed collection
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: for-computed, version: '1.0.0'}
    do:
      - loop:
          for:
            each: pet
            in: '[ .pets[] | select(.status == "available") ]'
          do:
            - pick:
                set:
                  pets: ${ .pets }
                  names: ${ .names + [ $pet.name ] }
    """
    And given the workflow input is:
    """yaml
    pets:
      - { name: Milou, status: available }
      - { name: Rantanplan, status: sold }
      - { name: Idefix, status: available }
    names: []
    """
    When the workflow is executed
    Then the workflow output should have a 'names' property with value:
    """yaml
    [ Milou, Idefix ]
    """

  # A for task's output.as is applied to the output of the last iteration.
  Scenario: For task output transformed after the last iteration
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: for-output-as, version: '1.0.0'}
    do:
      - sum:
          for:
            in: .values
          do:
            - add:
                set:
                  values: ${ .values }
                  total: ${ .total + $item }
          output:
            as: .total
    """
    And given the workflow input is:
    """yaml
    values: [ 1, 2, 3, 4 ]
    total: 0
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    10
    """

  # The body tasks are faulted with the pointer of the body task, inside the for's do list.
  Scenario: For task whose body raises an error
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: for-raise, version: '1.0.0'}
    do:
      - loop:
          for:
            in: .items
          do:
            - check:
                if: ${ $item > 1 }
                raise:
                  error:
                    type: https://example.com/errors/too-big
                    status: 400
                    title: ${ "Item \($item) is too big" }
    """
    And given the workflow input is:
    """yaml
    items: [ 1, 2, 3 ]
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/too-big
    status: 400
    title: Item 2 is too big
    instance: /do/0/loop/do/0/check
    """
    And loop should fault

  # `then: exit` inside the body leaves the loop (nagare's reading: the loop's scope).
  Scenario: For task ended by an exit directive in its body
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: for-exit, version: '1.0.0'}
    do:
      - loop:
          for:
            in: .items
          do:
            - collect:
                set:
                  items: ${ .items }
                  seen: ${ .seen + [ $item ] }
            - stopAtTwo:
                switch:
                  - two:
                      when: ${ $item == 2 }
                      then: exit
      - after:
          set:
            seen: ${ .seen }
            done: true
    """
    And given the workflow input is:
    """yaml
    items: [ 1, 2, 3, 4 ]
    seen: []
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    seen: [ 1, 2 ]
    done: true
    """
    And after should run last

  # `then: end` inside the body ends the whole workflow.
  Scenario: For task body ending the workflow
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: for-end, version: '1.0.0'}
    do:
      - loop:
          for:
            in: .items
          do:
            - collect:
                set:
                  items: ${ .items }
                  seen: ${ .seen + [ $item ] }
                then: end
      - after:
          set:
            unreachable: true
    """
    And given the workflow input is:
    """yaml
    items: [ 1, 2, 3 ]
    seen: []
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    items: [ 1, 2, 3 ]
    seen: [ 1 ]
    """
    And collect should run last

  # nagare iterates the values of an object collection, in their order.
  Scenario: For task over the values of an object
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: for-object, version: '1.0.0'}
    do:
      - loop:
          for:
            each: price
            in: .prices
          do:
            - add:
                set:
                  prices: ${ .prices }
                  total: ${ .total + $price }
    """
    And given the workflow input is:
    """yaml
    prices: { apple: 1, pear: 2, plum: 4 }
    total: 0
    """
    When the workflow is executed
    Then the workflow output should have a 'total' property with value:
    """yaml
    7
    """

  # A for.in that is not a collection is an expression error at the for task.
  Scenario: For task over a value that is not a collection
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: for-not-collection, version: '1.0.0'}
    do:
      - loop:
          for:
            in: .name
          do:
            - body:
                set:
                  ran: true
    """
    And given the workflow input is:
    """yaml
    name: not a list
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/expression
    status: 400
    instance: /do/0/loop
    """

  # Nested loops with the default names: the innermost binding wins inside the inner body, and
  # the outer binding is back after the inner loop.
  Scenario: Nested for tasks with default variable names
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: for-nested-default, version: '1.0.0'}
    do:
      - outer:
          for:
            in: .outer
          do:
            - inner:
                for:
                  in: .inner
                do:
                  - pair:
                      set:
                        outer: ${ .outer }
                        inner: ${ .inner }
                        log: ${ .log + [ "\($item)@\($index)" ] }
            - afterInner:
                set:
                  outer: ${ .outer }
                  inner: ${ .inner }
                  log: ${ .log + [ "outer:\($item)@\($index)" ] }
    """
    And given the workflow input is:
    """yaml
    outer: [ A, B ]
    inner: [ x, y ]
    log: []
    """
    When the workflow is executed
    Then the workflow output should have a 'log' property with value:
    """yaml
    [ x@0, y@1, 'outer:A@0', x@0, y@1, 'outer:B@1' ]
    """
