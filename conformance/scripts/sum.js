const numbers = process.argv.slice(2).map(Number);
console.log(numbers.reduce((a, b) => a + b, 0));
